package dev.zdm.internal.backfill;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.namedparam.NamedParameterJdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.internal.backfill.BackfillStatements.KeyBounds;
import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.internal.catalog.SqlExpressions;
import dev.zdm.internal.ddl.ContractPrecondition;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.ScriptObjects;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.TableName;

/**
 * The final check before a migration's contract DDL: once every live instance runs
 * {@code contract}, old and new are compared once more, key by key in both directions
 * (for a migration into another table: no target row missing, extra or different). Every
 * write of the application keeps both sides in sync until the contract DDL has run, so a
 * disagreement now can only come from a writer outside the application, whose writes the
 * contract would drop. Nothing is repaired and the contract is held back, with the rows
 * and the writers seen, until an operator asks for a re-check (after stopping the writer
 * and, if its writes should be kept, applying the old side to the new with
 * {@link #applyOld}) or overrides the check with a reason, through the endpoint, which
 * records every such action.
 * <p>
 * After each heartbeat at {@code contract} it reads the stored check, so that every
 * instance's health and meters show it without querying the database.
 */
public class FinalContractCheck implements ContractPrecondition, MigrationParticipant {

	private static final Log logger = LogFactory.getLog(FinalContractCheck.class);

	/** How many disagreeing keys a check keeps. */
	static final int SAMPLE = 20;

	/** How many writing sessions a check keeps. */
	static final int WRITERS = 10;

	private final DataSource dataSource;

	private final String instanceId;

	private final ContractCheckRepository repository;

	private final BackfillRepository backfills;

	private final LockInspector lockInspector;

	private final DatabaseCatalog catalog;

	/**
	 * How often a batch of {@link #applyOld} is tried when it fails in a way a retry can
	 * mend (a lock or statement timeout, a deadlock): about ten seconds in all, which the
	 * operator waits for the answer.
	 */
	private static final int APPLY_ATTEMPTS = 5;

	private final Map<String, ContractCheck> held = new ConcurrentHashMap<>();

	/**
	 * Create a check on zdm's tables in the connection's current schema.
	 * @param dataSource the application's data source
	 * @param instanceId this instance
	 * @param repository where the checks and the operator's actions on them are stored
	 * @param backfills sets the backfill's timeouts on the transactions that apply the
	 * old side
	 * @param lockInspector names the sessions that hold rows {@code apply-old} waits for
	 * @param catalog reads the table's columns and which table a script's name names
	 */
	public FinalContractCheck(DataSource dataSource, String instanceId, ContractCheckRepository repository,
			BackfillRepository backfills, LockInspector lockInspector, DatabaseCatalog catalog) {
		this.dataSource = dataSource;
		this.instanceId = instanceId;
		this.repository = repository;
		this.backfills = backfills;
		this.lockInspector = lockInspector;
		this.catalog = catalog;
	}

	/**
	 * Return the repository of the checks and of the operator's actions.
	 * @return the repository
	 */
	public ContractCheckRepository repository() {
		return this.repository;
	}

	@Override
	public @Nullable String holdBack(MigrationDefinition migration) {
		return holdBack(migration, (Set<String>) null);
	}

	/**
	 * Check old and new before the contract, counting the values {@code up} maps to
	 * {@code NULL} only in the old columns the contract scripts drop: a column the
	 * contract keeps keeps its values.
	 */
	@Override
	public @Nullable String holdBack(MigrationDefinition migration, List<DdlScript> contractScripts) {
		ScriptObjects objects = ScriptObjects.of(contractScripts);
		Set<String> dropped = new HashSet<>();
		Stream.concat(objects.droppedColumns().stream(), objects.droppedWithCascade().stream())
			.filter((column) -> this.catalog.names(column.table(), migration.table()))
			.forEach((column) -> dropped.add(column.column()));
		return holdBack(migration, dropped);
	}

	// dropped: the old columns the contract drops, or null for every column an up reads
	private @Nullable String holdBack(MigrationDefinition migration, @Nullable Set<String> dropped) {
		if (!migration.hasBackfill()) {
			return null;
		}
		String id = migration.id();
		ContractCheck stored = this.repository.find(id);
		if (stored != null && stored.held()) {
			if (stored.overrideReason() != null) {
				logger.warn("zdm: migration '" + id + "': the contract runs over the final check that held it back ("
						+ stored.reason() + "), as an operator overrode it: " + stored.overrideReason());
				return null;
			}
			if (!stored.recheckRequested()) {
				return stored.reason();
			}
		}
		ContractCheck check = check(migration, dropped);
		if (check.held()) {
			// in memory first: what the endpoint reads from the table is never ahead of
			// the gauge
			this.held.put(id, check);
			this.repository.save(check);
			logger.warn("zdm: migration '" + id + "': " + check.reason() + "; keys: " + check.rows()
					+ "; sessions seen writing: " + (check.writers().isEmpty() ? "none" : check.writers()));
			return check.reason();
		}
		this.repository.save(check);
		this.held.remove(id);
		logger.info("zdm: migration '" + id + "': final check before the contract found old and new agreeing on all "
				+ check.rowsChecked() + " keys");
		return null;
	}

	/**
	 * Check old and new of a migration once, reading only.
	 * @param migration the migration
	 * @return the result, not stored
	 */
	ContractCheck check(MigrationDefinition migration, @Nullable Set<String> dropped) {
		BackfillStatements statements = BackfillStatements.of(migration);
		NamedParameterJdbcTemplate jdbc = new NamedParameterJdbcTemplate(this.dataSource);
		BackfillSettings settings = migration.backfill();
		int batchSize = settings.verificationBatchSize();
		String bound = jdbc.getJdbcTemplate().queryForObject(statements.verifyBound, String.class);
		Map<SqlIdentifier, List<SqlIdentifier>> readers = readers(migration, dropped);
		boolean converts = statements.unconvertedCondition(readers) != null;
		long checked = 0;
		List<String> rows = new ArrayList<>();
		long[] disagreeing = new long[1];
		List<String> unconvertedRows = new ArrayList<>();
		long[] unconverted = new long[1];
		String lo = null;
		while (bound != null) {
			KeyBounds walked = statements.range(lo, bound, batchSize);
			Range range = jdbc.queryForObject(statements.verifyRange(walked), walked.parameters(),
					(rs, row) -> new Range(rs.getLong(1), rs.getString(2)));
			if (range == null || range.rows() == 0 || range.high() == null) {
				break;
			}
			KeyBounds keys = statements.range(lo, range.high(), batchSize);
			jdbc.query(statements.disagreeing(keys), keys.parameters(), (rs) -> {
				disagreeing[0]++;
				if (rows.size() < SAMPLE) {
					rows.add("key " + rs.getString("zdm_key") + ": " + rs.getString("zdm_kind"));
				}
			});
			if (converts) {
				jdbc.query(statements.unconverted(keys, readers), keys.parameters(), (rs) -> {
					unconverted[0]++;
					if (unconvertedRows.size() < SAMPLE) {
						unconvertedRows.add("key " + rs.getString("zdm_key") + ": up maps the value of "
								+ rs.getString("zdm_columns") + " to NULL");
					}
				});
			}
			checked += range.rows();
			lo = range.high();
			sleep(settings.verificationPause());
		}
		String id = migration.id();
		if (disagreeing[0] == 0 && unconverted[0] == 0) {
			return new ContractCheck(id, false, Instant.now(), this.instanceId, checked, 0, List.of(), List.of(), null,
					false, null);
		}
		if (disagreeing[0] == 0) {
			return new ContractCheck(id, true, Instant.now(), this.instanceId, checked, 0, unconvertedRows, List.of(),
					unconvertedReason(migration, unconverted[0], checked, statements.unconvertedCondition(readers)),
					false, null);
		}
		List<String> writers = writers(migration);
		String newSide = (migration.targetTable() != null) ? migration.targetTable().toString() : "the new columns ("
				+ migration.up().keySet().stream().map(Object::toString).sorted().collect(Collectors.joining(", "))
				+ ")";
		String reason = "contract held back: the final check found " + disagreeing[0] + " of " + checked
				+ " keys disagreeing between " + sides(migration) + " with every live instance at contract, which "
				+ "only something outside the application can cause: " + outsideCauses(migration) + ". "
				+ (writers.isEmpty()
						? "No session was writing the tables at the moment of the check: a writer has finished, "
								+ "or it connects for each write and was between two (a script or job looping over "
								+ "psql does); find it in the database's log (log_connections, log_statement) or "
								+ "among the jobs that run, and stop it, unless the rows came in as above. "
						: "Find it in writers and stop it. ")
				+ "If it wrote the old side, the contract would drop its writes: keep them by applying the "
				+ "old side with POST /actuator/zdm/" + id + "/contract/apply-old and a reason (it re-checks, and "
				+ "the contract runs once every key agrees). If it wrote " + newSide + ", which the application has "
				+ "read since read-new, its writes are already on the side that stays and apply-old would overwrite "
				+ "them: run the contract over the check with POST /actuator/zdm/" + id + "/contract/override and "
				+ "a reason. To check again without changing anything: POST /actuator/zdm/" + id + "/contract/recheck";
		if (unconverted[0] > 0) {
			reason += ". Besides: "
					+ unconvertedReason(migration, unconverted[0], checked, statements.unconvertedCondition(readers));
			// both kinds in the sample: the unconverted after the first disagreeing
			rows.subList(Math.min(rows.size(), SAMPLE / 2), rows.size()).clear();
			rows.addAll(unconvertedRows.subList(0, Math.min(unconvertedRows.size(), SAMPLE - rows.size())));
		}
		return new ContractCheck(id, true, Instant.now(), this.instanceId, checked, disagreeing[0], rows, writers,
				reason, false, null);
	}

	/**
	 * Why the contract waits for rows whose old columns hold a value {@code up} maps to
	 * {@code NULL}: an {@code up} that takes what it cannot convert (a {@code CASE}
	 * without an {@code ELSE}, {@code nullif}) agrees with itself on every row, so no
	 * check before this one counts them, and the contract drops them with the old columns
	 * (an outside run's 595 amounts like '12,50' and 'n/a' went so, every check saying
	 * old and new agreed).
	 */
	private static String unconvertedReason(MigrationDefinition migration, long rows, long checked,
			@Nullable String condition) {
		String id = migration.id();
		return "contract held back: the final check found " + rows + " of " + checked + " rows of " + migration.table()
				+ " with a value in an old column that an up reading it maps to NULL, and that no down gives back "
				+ "(keys in rows), "
				+ "which only the old columns keep: the contract drops them with those columns. If the values "
				+ "matter, keep them first (CREATE TABLE <name> AS SELECT * FROM " + migration.table() + " WHERE "
				+ condition + ") or mend the rows so that up converts them (the application's writes and the sync "
				+ "keep the new side in step), and check again with POST /actuator/zdm/" + id
				+ "/contract/recheck; to let the contract drop them, run it over the check with POST "
				+ "/actuator/zdm/" + id + "/contract/override and a reason (recorded with who gave it)";
	}

	/**
	 * For each column of the source table an {@code up} reads, by name, the new columns
	 * whose {@code up} reads it (the new columns of a migration inside one table left
	 * out; only the columns the contract drops, when they are known).
	 */
	private Map<SqlIdentifier, List<SqlIdentifier>> readers(MigrationDefinition migration,
			@Nullable Set<String> dropped) {
		TableName table = migration.table();
		TableName qualified = (table.schema() != null) ? table
				: this.catalog.findSchema(table).map(table::inSchema).orElse(table);
		List<SqlIdentifier> columns = this.catalog.columns(qualified)
			.keySet()
			.stream()
			.map(SqlIdentifier::new)
			.filter((column) -> migration.isCrossTable() || !migration.up().containsKey(column))
			.filter((column) -> dropped == null || dropped.contains(column.name()))
			.toList();
		Map<SqlIdentifier, List<SqlIdentifier>> readers = new LinkedHashMap<>();
		migration.up()
			.forEach((column, up) -> SqlExpressions.referencedColumns(columns, List.of(up))
				.forEach((old) -> readers.computeIfAbsent(old, (key) -> new ArrayList<>()).add(column)));
		return readers;
	}

	private static String outsideCauses(MigrationDefinition migration) {
		if (migration.sync() == SyncMode.TRIGGER) {
			return "a writer past the sync trigger, or rows that came in without passing through it (a partition "
					+ "attached since the verification, a load with triggers disabled by session_replication_role = "
					+ "replica); or, from the application too, an insert that left an old column to a default "
					+ "computed per row (now(), nextval), which the trigger cannot tell from a value written (zdm "
					+ "warned of such a column at start-up)";
		}
		return "a writer outside the application's repositories writing one side only, or both with values that do "
				+ "not agree (nothing syncs such a writer's rows: sync: " + migration.sync().value() + ")"
				+ "; or a partition of a partitioned table attached since the verification";
	}

	/**
	 * Set the new side of every disagreeing key from the old side, in batches, and ask
	 * for a re-check. For keys an outside writer wrote to the old side only, whose writes
	 * the contract would otherwise drop.
	 * @param migration the migration
	 * @param action who asks for it and why
	 * @return the rows changed
	 * @throws IllegalStateException if the contract is not held back, or if a batch could
	 * not be applied (another transaction holding one of its rows past the tries), saying
	 * what stopped it; the batches before it stay applied and the contract stays held
	 */
	public long applyOld(MigrationDefinition migration, OperatorAction action) {
		String id = migration.id();
		ContractCheck stored = this.repository.find(id);
		if (stored == null || !stored.held()) {
			throw new IllegalStateException("The contract of migration '" + id + "' is not held back by a final "
					+ "check; there is nothing to apply");
		}
		BackfillStatements statements = BackfillStatements.of(migration);
		BackfillSettings settings = migration.backfill();
		NamedParameterJdbcTemplate jdbc = new NamedParameterJdbcTemplate(this.dataSource);
		TransactionTemplate transactions = new TransactionTemplate(new DataSourceTransactionManager(this.dataSource));
		int batchSize = settings.verificationBatchSize();
		String bound = jdbc.getJdbcTemplate().queryForObject(statements.verifyBound, String.class);
		long changed = 0;
		String lo = null;
		while (bound != null) {
			KeyBounds walked = statements.range(lo, bound, batchSize);
			Range range = jdbc.queryForObject(statements.verifyRange(walked), walked.parameters(),
					(rs, row) -> new Range(rs.getLong(1), rs.getString(2)));
			if (range == null || range.rows() == 0 || range.high() == null) {
				break;
			}
			KeyBounds keys = statements.range(lo, range.high(), batchSize);
			Long batch = null;
			for (int attempt = 1;; attempt++) {
				try {
					batch = transactions.execute((transaction) -> {
						this.backfills.setLocalTimeouts(settings.lockTimeout(), settings.statementTimeout());
						long rows = 0;
						for (String statement : statements.applyOld(keys)) {
							rows += jdbc.update(statement, keys.parameters());
						}
						return rows;
					});
					break;
				}
				catch (DataAccessException ex) {
					// the application's own writes may hold a row of the batch past the
					// lock timeout: the batch is rolled back whole and tried again
					String where = (lo != null) ? "the keys after " + lo : "the first keys";
					if (!BackfillErrors.isRetryable(ex) || attempt == APPLY_ATTEMPTS) {
						throw new IllegalStateException("Applying the old side of migration '" + id
								+ "' to the new side stopped at " + where + " (up to " + range.high() + ")"
								+ (BackfillErrors.isRetryable(ex) ? " after " + attempt + " tries" : "") + ": "
								+ BackfillErrors.describe(ex)
								+ BackfillHoldBack.rowLockHolders(this.lockInspector, migration) + ". " + changed
								+ " rows were set from the old side before it and stay set; the contract stays held. "
								+ "Try again once that transaction has ended: apply-old sets only the keys that "
								+ "still disagree", ex);
					}
					logger.info("zdm: migration '" + id + "': applying the old side to " + where + " failed ("
							+ ex.getMostSpecificCause().getMessage() + "), attempt " + attempt + " of " + APPLY_ATTEMPTS
							+ "; trying again");
					sleep(settings.throttleCheckInterval());
				}
			}
			changed += (batch != null) ? batch : 0;
			lo = range.high();
		}
		this.repository.requestRecheck(id);
		logger.warn("zdm: migration '" + id + "': " + changed + " rows of the new side set from the old side, as "
				+ action.principal() + " asked through instance " + action.instanceId() + ": " + action.reason()
				+ "; the contract runs once a re-check finds every key agreeing");
		return changed;
	}

	/**
	 * Ask for the held check to run again before the next attempt of the contract.
	 * @param migrationId the migration
	 * @param action who asks for it and why
	 * @throws IllegalStateException if the contract is not held back
	 */
	public void recheck(String migrationId, OperatorAction action) {
		if (!this.repository.requestRecheck(migrationId)) {
			throw new IllegalStateException("The contract of migration '" + migrationId
					+ "' is not held back by a final check; there is nothing to re-check");
		}
		logger.info("zdm: migration '" + migrationId + "': re-check of the final contract check asked for by "
				+ action.principal() + " through instance " + action.instanceId()
				+ ((action.reason() != null) ? ": " + action.reason() : ""));
	}

	/**
	 * Let the contract run over the held check.
	 * @param migrationId the migration
	 * @param action who overrides it and why; the reason is required
	 * @throws IllegalArgumentException if no reason is given
	 * @throws IllegalStateException if the contract is not held back
	 */
	public void override(String migrationId, OperatorAction action) {
		String reason = action.reason();
		if (reason == null || reason.isBlank()) {
			throw new IllegalArgumentException("An override of the final contract check of migration '" + migrationId
					+ "' needs a reason, as in {\"reason\": \"the rows listed are test data\"}; it is recorded with "
					+ "who gave it");
		}
		if (!this.repository.override(migrationId, reason)) {
			throw new IllegalStateException("The contract of migration '" + migrationId
					+ "' is not held back by a final check; there is nothing to override");
		}
		logger.warn("zdm: migration '" + migrationId + "': the final contract check is overridden by "
				+ action.principal() + " through instance " + action.instanceId() + ": " + reason
				+ "; the contract runs over it and drops what the old side holds");
	}

	/**
	 * Return the check that holds a migration's contract back, as seen at the last
	 * heartbeat.
	 * @param migrationId the migration
	 * @return the check, or {@code null} if none holds it back
	 */
	public @Nullable ContractCheck held(String migrationId) {
		return this.held.get(migrationId);
	}

	@Override
	public void afterHeartbeat(MigrationStatus status) {
		String id = status.migrationId();
		if (status.effective() != Phase.CONTRACT || status.state().isContracted()
				|| !status.migration().hasBackfill()) {
			this.held.remove(id);
			return;
		}
		try {
			ContractCheck stored = this.repository.find(id);
			if (stored != null && stored.held() && stored.overrideReason() == null) {
				this.held.put(id, stored);
			}
			else {
				this.held.remove(id);
			}
		}
		catch (RuntimeException ex) {
			logger.debug("zdm: migration '" + id + "': could not read the final contract check", ex);
		}
	}

	private List<String> writers(MigrationDefinition migration) {
		List<String> tables = new ArrayList<>(List.of(migration.table().quoted()));
		List<String> names = new ArrayList<>(List.of(migration.table().table().name()));
		if (migration.targetTable() != null) {
			tables.add(migration.targetTable().quoted());
			names.add(migration.targetTable().table().name());
		}
		try {
			return this.repository.writers(tables, names, WRITERS);
		}
		catch (RuntimeException ex) {
			logger.debug("zdm: migration '" + migration.id() + "': could not read the sessions writing its tables", ex);
			return List.of("the sessions writing the tables could not be read: " + ex.getMessage());
		}
	}

	private static String sides(MigrationDefinition migration) {
		return (migration.targetTable() != null) ? migration.table() + " and " + migration.targetTable()
				: "the old and new columns of " + migration.table();
	}

	private static void sleep(Duration pause) {
		if (pause.isZero()) {
			return;
		}
		try {
			Thread.sleep(pause.toMillis());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted during the final contract check", ex);
		}
	}

	private record Range(long rows, @Nullable String high) {

	}

}
