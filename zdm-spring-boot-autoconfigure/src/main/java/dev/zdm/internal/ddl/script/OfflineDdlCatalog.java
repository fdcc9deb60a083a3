package dev.zdm.internal.ddl.script;

import java.util.List;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * A {@link DdlCatalog} for checking scripts without a database: every table the scripts
 * do not create is taken to exist, no column type is known (so a type change of an
 * existing column cannot be shown to be safe), no column is proven not null, and a
 * function is volatile when it is one of PostgreSQL's volatile built-ins that defaults
 * use.
 */
public final class OfflineDdlCatalog extends DdlCatalog {

	/**
	 * PostgreSQL's volatile built-in functions (and those of uuid-ossp) that a column
	 * default may call.
	 */
	static final Set<String> VOLATILE_FUNCTIONS = Set.of("random", "random_normal", "gen_random_uuid", "uuidv4",
			"uuidv7", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4", "clock_timestamp", "timeofday",
			"nextval", "setval", "txid_current", "pg_current_xact_id");

	@Override
	public boolean relationExists(String relation) {
		return true;
	}

	@Override
	public boolean isPartitioned(String relation) {
		return false;
	}

	@Override
	public @Nullable String columnType(String table, String column) {
		return null;
	}

	@Override
	public @Nullable String columnCollation(String table, String column) {
		return null;
	}

	@Override
	public List<String> checksOnColumn(String table, String column) {
		return List.of();
	}

	@Override
	public List<String> nullableIndexColumns(String index) {
		return List.of();
	}

	@Override
	public boolean isConstrainedDomain(String type) {
		return false;
	}

	@Override
	public boolean isVolatile(String function) {
		return VOLATILE_FUNCTIONS.contains(function.toLowerCase());
	}

	@Override
	public boolean isProvenNotNull(String table, String column) {
		return false;
	}

	@Override
	public List<String> invalidIndexes(String table) {
		return List.of();
	}

	@Override
	public @Nullable TableEstimate tableEstimate(String relation) {
		return null;
	}

}
