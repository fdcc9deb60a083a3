package dev.zdm.internal.ddl.script;

import java.util.List;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * One SQL statement of a DDL script, with its tokens for the unsafe-operation checks.
 *
 * @param index the statement's position in its script, from 1
 * @param line the line of the script the statement starts on
 * @param sql the statement as written, without its terminating semicolon
 * @param tokens the statement's tokens, comments left out
 * @param allowed codes of unsafe operations allowed for this statement by a
 * {@code -- zdm:allow} comment
 * @param allows the {@code -- zdm:allow} comments' codes, each with its line and the
 * reason given after it, if any
 */
public record DdlStatement(int index, int line, String sql, List<SqlToken> tokens, Set<String> allowed,
		List<Allow> allows) {

	/**
	 * Create a statement.
	 * @param index the statement's position in its script, from 1
	 * @param line the line of the script the statement starts on
	 * @param sql the statement as written
	 * @param tokens the statement's tokens
	 * @param allowed codes allowed for this statement
	 * @param allows the codes allowed, with their lines and reasons
	 */
	public DdlStatement {
		tokens = List.copyOf(tokens);
		allowed = Set.copyOf(allowed);
		allows = List.copyOf(allows);
	}

	/**
	 * Create a statement whose allowed codes carry no reason.
	 * @param index the statement's position in its script, from 1
	 * @param line the line of the script the statement starts on
	 * @param sql the statement as written
	 * @param tokens the statement's tokens
	 * @param allowed codes allowed for this statement
	 */
	public DdlStatement(int index, int line, String sql, List<SqlToken> tokens, Set<String> allowed) {
		this(index, line, sql, tokens, allowed, allowed.stream().map((code) -> new Allow(code, line, null)).toList());
	}

	/**
	 * Describe the {@code -- zdm:allow} comments of this statement for the DDL history,
	 * such as {@code create-index: the table has 40 rows}.
	 * @return the codes with their reasons, or {@code null} if nothing is allowed by a
	 * comment
	 */
	public @Nullable String allowedDescription() {
		if (this.allows.isEmpty()) {
			return null;
		}
		return String.join("; ",
				this.allows.stream()
					.map((allow) -> allow.code() + ((allow.reason() != null) ? ": " + allow.reason() : ""))
					.toList());
	}

	/**
	 * Create a statement that was not read from a script, as those of a
	 * {@code SchemaChangeContributor}.
	 * @param index the statement's position, from 1
	 * @param sql the statement
	 * @return the statement, tokenized
	 */
	public static DdlStatement of(int index, String sql) {
		List<DdlStatement> parsed = SqlScriptParser.parse(sql);
		if (parsed.size() != 1) {
			throw new IllegalArgumentException("Expected one SQL statement but found " + parsed.size() + ": " + sql);
		}
		DdlStatement statement = parsed.get(0);
		return new DdlStatement(index, 1, statement.sql(), statement.tokens(), statement.allowed(), statement.allows());
	}

	/**
	 * Whether PostgreSQL refuses to run this statement inside a transaction block, as for
	 * {@code CREATE INDEX CONCURRENTLY}, {@code DROP INDEX CONCURRENTLY},
	 * {@code REINDEX ... CONCURRENTLY}, {@code REPACK (CONCURRENTLY)} and {@code VACUUM}.
	 * @return {@code true} if the statement must run outside a transaction
	 */
	public boolean isNonTransactional() {
		if (startsWith("vacuum") || startsWith("alter", "system") || startsWith("create", "database")
				|| startsWith("drop", "database")) {
			return true;
		}
		if (startsWith("repack")) {
			return isConcurrentRepack(this.tokens);
		}
		boolean concurrently = this.tokens.stream().anyMatch((token) -> token.isWord("concurrently"));
		if (!concurrently) {
			return false;
		}
		return startsWith("create", "index") || startsWith("create", "unique", "index") || startsWith("drop", "index")
				|| startsWith("reindex") || (startsWith("alter", "table") && containsWords("detach", "partition"));
	}

	// REPACK (PostgreSQL 19) takes CONCURRENTLY as an option in parentheses, which may be
	// turned off: REPACK (CONCURRENTLY false).
	static boolean isConcurrentRepack(List<SqlToken> tokens) {
		for (int i = 0; i < tokens.size(); i++) {
			if (tokens.get(i).isWord("concurrently")) {
				SqlToken value = (i + 1 < tokens.size()) ? tokens.get(i + 1) : null;
				return value == null || !(value.isWord("false") || value.isWord("off") || "0".equals(value.value()));
			}
		}
		return false;
	}

	/**
	 * Return a short form of the statement for messages: on one line, at most 200
	 * characters.
	 * @return the abbreviated statement
	 */
	public String abbreviated() {
		String oneLine = this.sql.replaceAll("\\s+", " ").trim();
		return (oneLine.length() <= 200) ? oneLine : oneLine.substring(0, 197) + "...";
	}

	public boolean startsWith(String... words) {
		if (this.tokens.size() < words.length) {
			return false;
		}
		for (int i = 0; i < words.length; i++) {
			if (!this.tokens.get(i).isWord(words[i])) {
				return false;
			}
		}
		return true;
	}

	boolean containsWords(String... words) {
		return SqlToken.containsWords(this.tokens, 0, words);
	}

	/**
	 * An unsafe operation allowed by a {@code -- zdm:allow <code>: <reason>} comment.
	 *
	 * @param code the operation's code
	 * @param line the line of the script the comment is on
	 * @param reason why, as written after the code and a colon, or {@code null}
	 */
	public record Allow(String code, int line, @Nullable String reason) {

	}

}
