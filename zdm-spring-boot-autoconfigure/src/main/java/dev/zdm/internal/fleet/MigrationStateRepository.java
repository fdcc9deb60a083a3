package dev.zdm.internal.fleet;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Reads and records a migration's fleet-wide state in {@code zdm_migration}. Every
 * statement on that table is here.
 */
public class MigrationStateRepository {

	private static final String TABLE_EXISTS = "/* zdm */ SELECT to_regclass('zdm_migration') IS NOT NULL";

	private static final String INSERT_IF_ABSENT = """
			/* zdm */ INSERT INTO zdm_migration (migration_id) VALUES (?) ON CONFLICT (migration_id) DO NOTHING
			""";

	// Read through the row as JSON, so that a column a later version of zdm's schema adds
	// reads as null: an instance validates its declarations (reading this) before it
	// upgrades zdm's tables, and another instance may be upgrading them meanwhile.
	private static final String FIND = """
			/* zdm */ SELECT m->>'migration_id' AS migration_id,
			       (m->>'contracted_at')::timestamptz AS contracted_at, m->>'contracted_by' AS contracted_by,
			       (m->>'verified_at')::timestamptz AS verified_at, m->>'verified_fleet' AS verified_fleet,
			       m->>'verification_void_reason' AS verification_void_reason,
			       (m->>'abandoned_at')::timestamptz AS abandoned_at, m->>'abandoned_by' AS abandoned_by,
			       (m->>'read_new_at')::timestamptz AS read_new_at
			FROM (SELECT to_jsonb(state) AS m FROM zdm_migration state WHERE migration_id = ?) AS migration
			""";

	/**
	 * The condition, in SQL, under which the contract guards let a write of the old side
	 * through: the transaction is marked by
	 * {@link #isContractedMarkingDualWrite(String)}.
	 */
	public static final String DUAL_WRITE_MARKED = "current_setting('zdm.dual_write', true) = 'on'";

	private static final String MARK_DUAL_WRITE = "/* zdm */ SELECT set_config('zdm.dual_write', 'on', true)";

	private static final String MARK_CONTRACTED = """
			/* zdm */ UPDATE zdm_migration SET contracted_at = now(), contracted_by = ?
			WHERE migration_id = ? AND contracted_at IS NULL AND abandoned_at IS NULL
			""";

	private static final String MARK_ABANDONED = """
			/* zdm */ UPDATE zdm_migration SET abandoned_at = now(), abandoned_by = ?, abandon_reason = ?
			WHERE migration_id = ? AND contracted_at IS NULL AND abandoned_at IS NULL
			""";

	// What zdm knows of an abandoned migration's data; its DDL history and the operator
	// actions stay, as the record of what ran and who asked.
	private static final List<String> FORGET = List.of(
			"/* zdm */ DELETE FROM zdm_backfill_verification WHERE migration_id = ?",
			"/* zdm */ DELETE FROM zdm_backfill WHERE migration_id = ?",
			"/* zdm */ DELETE FROM zdm_backfill_override WHERE migration_id = ?",
			"/* zdm */ DELETE FROM zdm_contract_check WHERE migration_id = ?",
			"/* zdm */ DELETE FROM zdm_ddl_pause WHERE migration_id = ?", """
					/* zdm */ UPDATE zdm_migration
					SET verified_at = NULL, verified_fleet = NULL, verification_voided_at = NULL,
					    verification_void_reason = NULL
					WHERE migration_id = ?
					""");

	private static final String MARK_VERIFIED = """
			/* zdm */ UPDATE zdm_migration
			SET verified_at = now(), verified_fleet = ?, verification_voided_at = NULL, verification_void_reason = NULL
			WHERE migration_id = ?
			""";

	private static final String MARK_READ_NEW = """
			/* zdm */ UPDATE zdm_migration SET read_new_at = now() WHERE migration_id = ? AND read_new_at IS NULL
			""";

	private static final String CLEAR_READ_NEW = """
			/* zdm */ UPDATE zdm_migration SET read_new_at = NULL WHERE migration_id = ? AND read_new_at IS NOT NULL
			""";

	private static final String VOID_VERIFICATION = """
			/* zdm */ UPDATE zdm_migration
			SET verified_at = NULL, verification_voided_at = now(), verification_void_reason = ?
			WHERE migration_id = ? AND verified_at IS NOT NULL
			""";

	// a failed re-verification voids a verification, or says why again if the last one
	// failed too: the reason of the first failure would stay while later ones differ
	private static final String FAIL_REVERIFICATION = """
			/* zdm */ UPDATE zdm_migration
			SET verified_at = NULL, verification_voided_at = now(), verification_void_reason = ?
			WHERE migration_id = ? AND (verified_at IS NOT NULL OR verification_void_reason LIKE ?)
			""";

	private static final String REVERIFICATION_FAILED = "re-verification failed: ";

	private final JdbcTemplate jdbcTemplate;

	private final ZdmTables tables;

	/**
	 * Create a repository on zdm's tables in the connection's current schema.
	 * @param dataSource the application's data source
	 */
	public MigrationStateRepository(DataSource dataSource) {
		this(dataSource, ZdmTables.DEFAULT);
	}

	/**
	 * Create a repository.
	 * @param dataSource the application's data source
	 * @param tables where zdm's tables are
	 */
	public MigrationStateRepository(DataSource dataSource, ZdmTables tables) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
		this.tables = tables;
	}

	/**
	 * Return where zdm's tables are, for the other repositories on them.
	 * @return zdm's tables
	 */
	public ZdmTables tables() {
		return this.tables;
	}

	/**
	 * Record that zdm knows a migration; does nothing if it already does.
	 * @param migrationId the migration
	 */
	public void register(String migrationId) {
		this.jdbcTemplate.update(this.tables.qualify(INSERT_IF_ABSENT), migrationId);
	}

	/**
	 * Return a migration's state without writing anything, even if zdm's tables do not
	 * exist yet.
	 * @param migrationId the migration
	 * @return the recorded state, or the initial state if none is recorded
	 */
	public MigrationState find(String migrationId) {
		if (!Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(this.tables.qualify(TABLE_EXISTS), Boolean.class))) {
			return MigrationState.initial(migrationId);
		}
		List<MigrationState> found = this.jdbcTemplate.query(this.tables.qualify(FIND), MigrationStateRepository::state,
				migrationId);
		return found.isEmpty() ? MigrationState.initial(migrationId) : found.get(0);
	}

	/**
	 * Mark the current transaction as one that writes a migration's old side and then its
	 * new side, and return whether the migration's contract is recorded. A routing bean
	 * whose transaction has no savepoint to fall back from calls it before it writes the
	 * old side at {@code contract}: if another instance claims the contract after this
	 * read, its guard (the sync trigger turned guard, or the cross-table guard) lets this
	 * transaction's old-side writes through, since its new-side write follows in the same
	 * transaction, rather than failing the request. The mark is set with
	 * {@code set_config(..., true)} and lasts until the transaction ends; it reaches the
	 * guards only if this repository's connection is the transaction's (as with
	 * {@code JpaTransactionManager} and a data source).
	 * @param migrationId the migration
	 * @return {@code true} if the contract is recorded
	 */
	public boolean isContractedMarkingDualWrite(String migrationId) {
		this.jdbcTemplate.queryForObject(MARK_DUAL_WRITE, String.class);
		return find(migrationId).isContracted();
	}

	/**
	 * Record that the contract DDL has run.
	 * @param migrationId the migration
	 * @param instanceId the instance that ran it
	 * @return {@code true} if this call recorded it, {@code false} if it was already
	 * recorded
	 */
	public boolean markContracted(String migrationId, String instanceId) {
		return this.jdbcTemplate.update(this.tables.qualify(MARK_CONTRACTED), instanceId, migrationId) == 1;
	}

	/**
	 * Record that the migration is abandoned, unless it is contracted.
	 * @param migrationId the migration
	 * @param instanceId the instance that claimed the abandon
	 * @param reason why, as declared
	 * @return {@code true} if this call recorded it, {@code false} if it was already
	 * recorded or the migration is contracted
	 */
	public boolean markAbandoned(String migrationId, String instanceId, String reason) {
		return this.jdbcTemplate.update(this.tables.qualify(MARK_ABANDONED), instanceId, reason, migrationId) == 1;
	}

	/**
	 * Forget an abandoned migration's data: its backfill, verifications, final check and
	 * pauses, and whether it was verified. Its row, DDL history and operator actions
	 * stay.
	 * @param migrationId the migration
	 */
	public void forget(String migrationId) {
		FORGET.forEach((statement) -> this.jdbcTemplate.update(this.tables.qualify(statement), migrationId));
	}

	/**
	 * Record a successful verification of the backfill.
	 * @param migrationId the migration
	 * @param fleet a description of the fleet the verification holds for
	 */
	public void markVerified(String migrationId, String fleet) {
		this.jdbcTemplate.update(this.tables.qualify(MARK_VERIFIED), fleet, migrationId);
	}

	/**
	 * Record that an instance runs {@code read-new}, unless one did before.
	 * @param migrationId the migration
	 */
	public void markReadNew(String migrationId) {
		this.jdbcTemplate.update(this.tables.qualify(MARK_READ_NEW), migrationId);
	}

	/**
	 * Forget that an instance ran {@code read-new}, as when the whole fleet went back
	 * below it: the old side is the source of truth again.
	 * @param migrationId the migration
	 * @return {@code true} if an instance had run {@code read-new}
	 */
	public boolean clearReadNew(String migrationId) {
		return this.jdbcTemplate.update(this.tables.qualify(CLEAR_READ_NEW), migrationId) == 1;
	}

	/**
	 * Void the backfill's verification, as when an instance writes the old columns only.
	 * @param migrationId the migration
	 * @param reason why
	 * @return {@code true} if a verification was voided
	 */
	public boolean voidVerification(String migrationId, String reason) {
		return this.jdbcTemplate.update(this.tables.qualify(VOID_VERIFICATION), reason, migrationId) == 1;
	}

	/**
	 * Void the backfill's verification after a re-verification failed, or, if the last
	 * one failed too, replace its reason with this one's.
	 * @param migrationId the migration
	 * @param reason what the re-verification found
	 */
	public void failReverification(String migrationId, String reason) {
		this.jdbcTemplate.update(this.tables.qualify(FAIL_REVERIFICATION), REVERIFICATION_FAILED + reason, migrationId,
				REVERIFICATION_FAILED + "%");
	}

	private static MigrationState state(ResultSet rs, int row) throws SQLException {
		return new MigrationState(rs.getString("migration_id"), instant(rs.getTimestamp("contracted_at")),
				rs.getString("contracted_by"), instant(rs.getTimestamp("verified_at")), rs.getString("verified_fleet"),
				rs.getString("verification_void_reason"), instant(rs.getTimestamp("abandoned_at")),
				rs.getString("abandoned_by"), instant(rs.getTimestamp("read_new_at")));
	}

	private static @Nullable Instant instant(@Nullable Timestamp timestamp) {
		return (timestamp != null) ? timestamp.toInstant() : null;
	}

}
