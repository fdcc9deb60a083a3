package dev.zdm.internal.ddl.script;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * Splits a PostgreSQL script into statements and each statement into tokens. It knows
 * enough of PostgreSQL's lexical rules to find statement boundaries: string literals
 * (with {@code E''} escapes), quoted identifiers, dollar quoting, nested block comments,
 * and SQL-standard function bodies ({@code BEGIN ATOMIC ... END}).
 * <p>
 * A comment {@code -- zdm:allow <code>[, <code>...][: <reason>]} inside a statement, or
 * between it and the statement before, allows those unsafe operations for that statement,
 * for the reason given after the colon (to the end of the line).
 */
public final class SqlScriptParser {

	private static final Pattern ALLOW = Pattern
		.compile("zdm:allow\\s+([a-z-]+(?:\\s*,\\s*[a-z-]+)*)(?:[ \\t]*:[ \\t]*([^\\r\\n]*))?");

	private final String sql;

	private final List<DdlStatement> statements = new ArrayList<>();

	private List<SqlToken> tokens = new ArrayList<>();

	private final Set<String> allowed = new LinkedHashSet<>();

	private final List<DdlStatement.Allow> allows = new ArrayList<>();

	private int position;

	private int line = 1;

	private int statementStart = -1;

	private int statementEnd;

	private int statementLine;

	private int atomicDepth;

	private int lastStatementEndLine = -1;

	private SqlScriptParser(String sql) {
		this.sql = sql;
	}

	/**
	 * Parse a script.
	 * @param sql the script
	 * @return its statements, empty ones left out
	 * @throws IllegalArgumentException if a literal, identifier or comment is not
	 * terminated
	 */
	static List<DdlStatement> parse(String sql) {
		SqlScriptParser parser = new SqlScriptParser(sql);
		parser.run();
		return parser.statements;
	}

	private void run() {
		while (this.position < this.sql.length()) {
			char c = this.sql.charAt(this.position);
			char next = peek(1);
			if (c == '\n') {
				this.line++;
				this.position++;
			}
			else if (Character.isWhitespace(c)) {
				this.position++;
			}
			else if (c == '-' && next == '-') {
				int end = this.sql.indexOf('\n', this.position);
				comment(this.sql.substring(this.position, (end < 0) ? this.sql.length() : end), this.line);
				this.position = (end < 0) ? this.sql.length() : end;
			}
			else if (c == '/' && next == '*') {
				blockComment();
			}
			else if (c == ';' && this.atomicDepth == 0) {
				endStatement();
				this.position++;
			}
			else {
				token();
			}
		}
		endStatement();
	}

	private void token() {
		int start = this.position;
		int startLine = this.line;
		char c = this.sql.charAt(this.position);
		SqlToken token;
		if ((c == 'E' || c == 'e') && peek(1) == '\'') {
			this.position++;
			token = new SqlToken(SqlToken.Type.STRING, quoted('\'', true));
		}
		else if (c == '\'') {
			token = new SqlToken(SqlToken.Type.STRING, quoted('\'', false));
		}
		else if (c == '"') {
			token = new SqlToken(SqlToken.Type.QUOTED, quoted('"', false));
		}
		else if (c == '$' && dollarTag() != null) {
			token = new SqlToken(SqlToken.Type.STRING, dollarQuoted());
		}
		else if (Character.isLetter(c) || c == '_') {
			while (this.position < this.sql.length() && isWordPart(this.sql.charAt(this.position))) {
				this.position++;
			}
			token = new SqlToken(SqlToken.Type.WORD, this.sql.substring(start, this.position).toLowerCase(Locale.ROOT));
		}
		else if (Character.isDigit(c)) {
			while (this.position < this.sql.length() && isNumberPart(this.sql.charAt(this.position))) {
				this.position++;
			}
			token = new SqlToken(SqlToken.Type.NUMBER, this.sql.substring(start, this.position));
		}
		else if (c == ':' && peek(1) == ':') {
			this.position += 2;
			token = new SqlToken(SqlToken.Type.SYMBOL, "::");
		}
		else {
			this.position++;
			token = new SqlToken(SqlToken.Type.SYMBOL, String.valueOf(c));
		}
		if (this.statementStart < 0) {
			this.statementStart = start;
			this.statementLine = startLine;
		}
		this.statementEnd = this.position;
		trackAtomicBody(token);
		this.tokens.add(token);
	}

	// A SQL-standard function body holds semicolons that do not end the statement.
	private void trackAtomicBody(SqlToken token) {
		SqlToken previous = this.tokens.isEmpty() ? null : this.tokens.get(this.tokens.size() - 1);
		if (token.isWord("atomic") && previous != null && previous.isWord("begin")) {
			this.atomicDepth++;
		}
		else if (this.atomicDepth > 0 && token.isWord("case")) {
			this.atomicDepth++;
		}
		else if (this.atomicDepth > 0 && token.isWord("end")) {
			this.atomicDepth--;
		}
	}

	private String quoted(char quote, boolean backslashEscapes) {
		StringBuilder value = new StringBuilder();
		int startLine = this.line;
		this.position++;
		while (this.position < this.sql.length()) {
			char c = this.sql.charAt(this.position);
			if (c == '\n') {
				this.line++;
			}
			if (backslashEscapes && c == '\\' && this.position + 1 < this.sql.length()) {
				value.append(c).append(this.sql.charAt(this.position + 1));
				this.position += 2;
				continue;
			}
			if (c == quote) {
				if (peek(1) == quote) {
					value.append(quote);
					this.position += 2;
					continue;
				}
				this.position++;
				return value.toString();
			}
			value.append(c);
			this.position++;
		}
		throw new IllegalArgumentException("Unterminated " + ((quote == '"') ? "quoted identifier" : "string literal")
				+ " starting on line " + startLine);
	}

	private String dollarQuoted() {
		String tag = dollarTag();
		int startLine = this.line;
		int contentStart = this.position + tag.length();
		int end = this.sql.indexOf(tag, contentStart);
		if (end < 0) {
			throw new IllegalArgumentException(
					"Unterminated dollar-quoted string " + tag + " starting on line " + startLine);
		}
		String content = this.sql.substring(contentStart, end);
		this.line += (int) content.chars().filter((ch) -> ch == '\n').count();
		this.position = end + tag.length();
		return content;
	}

	private String dollarTag() {
		int end = this.position + 1;
		while (end < this.sql.length() && isTagPart(this.sql.charAt(end))) {
			end++;
		}
		if (end < this.sql.length() && this.sql.charAt(end) == '$'
				&& (end == this.position + 1 || !Character.isDigit(this.sql.charAt(this.position + 1)))) {
			return this.sql.substring(this.position, end + 1);
		}
		return null;
	}

	private void blockComment() {
		int startLine = this.line;
		int start = this.position;
		int depth = 0;
		while (this.position < this.sql.length()) {
			char c = this.sql.charAt(this.position);
			char next = peek(1);
			if (c == '/' && next == '*') {
				depth++;
				this.position += 2;
			}
			else if (c == '*' && next == '/') {
				depth--;
				this.position += 2;
				if (depth == 0) {
					comment(this.sql.substring(start, this.position), startLine);
					return;
				}
			}
			else {
				if (c == '\n') {
					this.line++;
				}
				this.position++;
			}
		}
		throw new IllegalArgumentException("Unterminated comment starting on line " + startLine);
	}

	private void comment(String text, int startLine) {
		Set<String> codes = new LinkedHashSet<>();
		List<DdlStatement.Allow> allows = new ArrayList<>();
		Matcher matcher = ALLOW.matcher(text);
		while (matcher.find()) {
			int line = startLine + (int) text.substring(0, matcher.start()).chars().filter((c) -> c == '\n').count();
			String reason = reason(matcher.group(2));
			for (String code : matcher.group(1).split(",")) {
				if (codes.add(code.trim())) {
					allows.add(new DdlStatement.Allow(code.trim(), line, reason));
				}
			}
		}
		if (codes.isEmpty()) {
			return;
		}
		// A comment after the semicolon on the statement's last line belongs to that
		// statement.
		if (this.tokens.isEmpty() && this.line == this.lastStatementEndLine && !this.statements.isEmpty()) {
			DdlStatement last = this.statements.remove(this.statements.size() - 1);
			Set<String> merged = new LinkedHashSet<>(last.allowed());
			merged.addAll(codes);
			List<DdlStatement.Allow> mergedAllows = new ArrayList<>(last.allows());
			mergedAllows.addAll(allows);
			this.statements
				.add(new DdlStatement(last.index(), last.line(), last.sql(), last.tokens(), merged, mergedAllows));
			return;
		}
		this.allowed.addAll(codes);
		this.allows.addAll(allows);
	}

	/**
	 * Return the reason written after the codes, without the end of a block comment.
	 */
	private static @Nullable String reason(@Nullable String text) {
		if (text == null) {
			return null;
		}
		String reason = text.strip();
		if (reason.endsWith("*/")) {
			reason = reason.substring(0, reason.length() - 2).strip();
		}
		return reason.isEmpty() ? null : reason;
	}

	private void endStatement() {
		if (!this.tokens.isEmpty()) {
			this.statements.add(new DdlStatement(this.statements.size() + 1, this.statementLine,
					this.sql.substring(this.statementStart, this.statementEnd), this.tokens, this.allowed,
					this.allows));
			this.lastStatementEndLine = this.line;
		}
		this.tokens = new ArrayList<>();
		this.allowed.clear();
		this.allows.clear();
		this.statementStart = -1;
		this.atomicDepth = 0;
	}

	private char peek(int offset) {
		int index = this.position + offset;
		return (index < this.sql.length()) ? this.sql.charAt(index) : 0;
	}

	private static boolean isNumberPart(char c) {
		return Character.isLetterOrDigit(c) || c == '.';
	}

	private static boolean isTagPart(char c) {
		return Character.isLetterOrDigit(c) || c == '_';
	}

	private static boolean isWordPart(char c) {
		return Character.isLetterOrDigit(c) || c == '_' || c == '$';
	}

}
