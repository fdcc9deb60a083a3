package dev.zdm.internal.backfill;

import java.sql.SQLException;
import java.sql.Types;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.core.SqlParameterValue;
import org.springframework.jdbc.core.namedparam.NamedParameterJdbcTemplate;

import dev.zdm.internal.backfill.BackfillRepository.Checkpoint;
import dev.zdm.internal.backfill.BackfillStatements.KeyBounds;
import dev.zdm.migration.MigrationDefinition;

/**
 * Runs one batch of a {@link BackfillWalk} on the runner's connection, in the transaction
 * the runner opened: finds the batch's key range, copies it (or checks it and repairs
 * what disagrees) and checkpoints. The one place where a {@link BackfillStatements
 * statement} on the migration's tables runs, and where a key range is bound to it.
 */
public final class BackfillBatches {

	private static final String UNIQUE_VIOLATION = "23505";

	private final MigrationDefinition migration;

	private final BackfillStatements statements;

	private final String instanceId;

	private final boolean repair;

	BackfillBatches(MigrationDefinition migration, BackfillStatements statements, String instanceId, boolean repair) {
		this.migration = migration;
		this.statements = statements;
		this.instanceId = instanceId;
		this.repair = repair;
	}

	/**
	 * Run the walk's next batch.
	 * @return the batch, with no rows when the walk is done
	 */
	Batch run(BackfillRepository repository, BackfillWalk walk) {
		boolean verifying = walk.verifying();
		NamedParameterJdbcTemplate jdbc = new NamedParameterJdbcTemplate(repository.jdbcTemplate());
		KeyRange range = range(jdbc, walk, walk.batchSize());
		if (range == null || range.rows() == 0 || range.high() == null) {
			return new Batch(0, 0, 0, null, false);
		}
		KeyBounds keys = this.statements.range(walk.lastKey(), range.high(), walk.batchSize());
		long disagreeing = 0;
		long changed = 0;
		if (!verifying) {
			changed = copy(jdbc, keys);
		}
		else {
			Long found = jdbc.queryForObject(this.statements.check(keys), keys.parameters(), Long.class);
			disagreeing = (found != null) ? found : 0;
			if (disagreeing > 0 && this.repair) {
				for (String repair : this.statements.repair(keys)) {
					changed += jdbc.update(repair, keys.parameters());
				}
			}
		}
		Checkpoint checkpoint = new Checkpoint(range.high(), range.rows(), changed, disagreeing, walk.batchSize(),
				walk.rate(range.rows()), walk.etaSeconds(range.rows()), walk.pacedBy());
		boolean paused = verifying ? repository.checkpointVerification(this.migration.id(), this.instanceId, checkpoint)
				: repository.checkpoint(this.migration.id(), this.instanceId, checkpoint);
		return new Batch(range.rows(), changed, disagreeing, range.high(), paused);
	}

	/**
	 * Return the key of the first row after the walk's last key, as the next batch would
	 * walk it: the row a batch of one that failed was about.
	 * @param repository the run's repository
	 * @param walk the walk
	 * @return the key's text, or {@code null} if no row is left
	 */
	@Nullable String nextKey(BackfillRepository repository, BackfillWalk walk) {
		KeyRange range = range(new NamedParameterJdbcTemplate(repository.jdbcTemplate()), walk, 1);
		return (range != null && range.rows() > 0) ? range.high() : null;
	}

	// the rows, at most a given number, the walk's next batch covers after its last key,
	// and the highest of their keys
	private @Nullable KeyRange range(NamedParameterJdbcTemplate jdbc, BackfillWalk walk, int batchSize) {
		KeyBounds walked = this.statements.range(walk.lastKey(), Objects.requireNonNull(walk.upperBound()), batchSize);
		String rangeQuery = walk.verifying() ? this.statements.verifyRange(walked) : this.statements.copyRange(walked);
		return jdbc.queryForObject(rangeQuery, walked.parameters(),
				(rs, row) -> new KeyRange(rs.getLong(1), rs.getString(2)));
	}

	/**
	 * Copy a range. A copy that can fail with a unique violation (an application
	 * transaction inserted one of the range's target rows after the statement's snapshot)
	 * runs after a savepoint; when it fails so, it is undone and the range copied by the
	 * statement that handles conflicts.
	 */
	private long copy(NamedParameterJdbcTemplate jdbc, KeyBounds keys) {
		String onConflict = this.statements.copyOnConflict(keys);
		if (onConflict == null) {
			return jdbc.update(this.statements.copy(keys), keys.parameters());
		}
		jdbc.getJdbcOperations().execute(BackfillStatements.COPY_SAVEPOINT);
		try {
			return jdbc.update(this.statements.copy(keys), keys.parameters());
		}
		catch (DataIntegrityViolationException ex) {
			if (!(ex.getMostSpecificCause() instanceof SQLException sqlException)
					|| !UNIQUE_VIOLATION.equals(sqlException.getSQLState())) {
				throw ex;
			}
			jdbc.getJdbcOperations().execute(BackfillStatements.ROLLBACK_TO_COPY_SAVEPOINT);
			return jdbc.update(onConflict, keys.parameters());
		}
	}

	/**
	 * Return the upper bound of a walk that starts now: the source's largest key for the
	 * copy, the largest key on either side for a verification pass.
	 * @param repository the run's repository
	 * @param verifying whether the walk is a verification pass
	 * @return the bound as text, or {@code null} if there is no row
	 */
	@Nullable String upperBound(BackfillRepository repository, boolean verifying) {
		return repository.jdbcTemplate()
			.queryForObject(verifying ? this.statements.verifyBound : this.statements.copyBound, String.class);
	}

	/**
	 * Time one read of the source row with a key, on the run's connection, outside a
	 * transaction: the pacing's probe of what a point read on the table costs now.
	 * @param repository the run's repository
	 * @param key a key of the table
	 * @return how long the read took, in nanoseconds
	 */
	long probe(BackfillRepository repository, String key) {
		long start = System.nanoTime();
		repository.jdbcTemplate().query(this.statements.probe, (rs) -> {
		}, this.statements.probeArguments(key));
		return System.nanoTime() - start;
	}

	/**
	 * Whether the copy leaves dead rows for a {@code VACUUM} to reclaim.
	 */
	boolean vacuums() {
		return this.statements.vacuum() != null;
	}

	/**
	 * Vacuum the table the copy rewrites.
	 * @param repository the repository of the vacuum's own connection
	 */
	void vacuum(BackfillRepository repository) {
		repository.jdbcTemplate().execute(Objects.requireNonNull(this.statements.vacuum()));
	}

	/**
	 * Estimate the rows up to a bound: the planner's estimate of the source table, else a
	 * count.
	 */
	@Nullable Long estimateRows(BackfillRepository repository, @Nullable String upperBound) {
		if (upperBound == null) {
			return 0L;
		}
		long estimate = repository.estimatedRows(this.statements.estimatedTable());
		if (estimate > 0) {
			return estimate;
		}
		return new NamedParameterJdbcTemplate(repository.jdbcTemplate()).queryForObject(this.statements.countUpTo,
				this.statements.range(null, upperBound, 0).parameters(), Long.class);
	}

	/**
	 * Bind a key, kept as text, untyped so that PostgreSQL reads it as the key column's
	 * type.
	 */
	static SqlParameterValue key(@Nullable String key) {
		return new SqlParameterValue(Types.OTHER, key);
	}

	private record KeyRange(long rows, @Nullable String high) {

	}

	/**
	 * A committed (or empty) batch.
	 *
	 * @param rows keys walked
	 * @param changed rows rewritten, inserted or deleted
	 * @param disagreeing rows found disagreeing (verification only)
	 * @param highKey the batch's last key, or {@code null} if it found no row
	 * @param paused whether a pause was asked for
	 */
	record Batch(long rows, long changed, long disagreeing, @Nullable String highKey, boolean paused) {

	}

}
