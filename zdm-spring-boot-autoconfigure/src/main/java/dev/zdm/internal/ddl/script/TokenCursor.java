package dev.zdm.internal.ddl.script;

import java.util.List;

/**
 * A position in a statement's tokens, moved on by matching words.
 */
abstract class TokenCursor {

	final List<SqlToken> tokens;

	int position;

	TokenCursor(List<SqlToken> tokens) {
		this.tokens = tokens;
	}

	boolean word(String word) {
		return SqlToken.isWordAt(this.tokens, this.position, word);
	}

	boolean accept(String... words) {
		if (!SqlToken.matchAt(this.tokens, this.position, words)) {
			return false;
		}
		this.position += words.length;
		return true;
	}

}
