package dev.zdm.internal.ddl.script;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What the scripts of one step have done so far, as far as {@link UnsafeStatementChecker}
 * cares: the objects they create (which may be changed freely) and the columns they prove
 * not null. Names are keys as {@link SqlName#key()} gives them.
 */
final class CheckScope {

	final DdlStep step;

	final Set<String> createdBefore;

	final Set<String> newTables = new HashSet<>();

	final Set<String> partitionedTables = new HashSet<>();

	final Set<String> newIndexes = new HashSet<>();

	final Set<String> newOthers = new HashSet<>();

	final Set<String> constrainedDomains = new HashSet<>();

	final Map<String, String> notValidNotNullChecks = new HashMap<>();

	final Set<String> provenNotNull = new HashSet<>();

	CheckScope(DdlStep step, Set<String> createdBefore) {
		this.step = step;
		this.createdBefore = createdBefore;
	}

}
