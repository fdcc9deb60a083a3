package dev.zdm.internal.ddl.script;

import java.util.Set;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.internal.ddl.script.StatementLock.Level;
import dev.zdm.internal.ddl.script.StatementLock.Work;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link StatementLock}'s labels of the statements zdm generates on a
 * partitioned table, read from the text alone. {@code StatementLockPartitionTests} checks
 * the same labels against the locks PostgreSQL takes.
 */
@Tag("no-database")
class StatementLockTests {

	@Test
	void uniqueConstraintWithoutAnIndexSaysItBuildsNoIndexWhenEachPartitionHasOne() {
		StatementLock lock = lock("ALTER TABLE events ADD CONSTRAINT events_code UNIQUE (code, at)",
				UnsafeOperation.ADD_UNIQUE_CONSTRAINT);
		assertThat(lock.level()).isEqualTo(Level.ACCESS_EXCLUSIVE);
		assertThat(lock.table()).isEqualTo("events");
		// the text does not tell a partitioned table, nor what its partitions have
		assertThat(lock.work()).isEqualTo(Work.SCAN);
		assertThat(lock.note()).startsWith("builds the constraint's index while reads and writes wait")
			.contains("on a partitioned table it builds no index when each partition already has a matching "
					+ "unique constraint");
	}

	@Test
	void exclusionConstraintSaysNothingOfPartitionsConstraints() {
		StatementLock lock = lock(
				"ALTER TABLE rooms ADD CONSTRAINT rooms_no_overlap EXCLUDE USING gist (during WITH &&)",
				UnsafeOperation.ADD_UNIQUE_CONSTRAINT);
		assertThat(lock.note()).isEqualTo("builds the constraint's index while reads and writes wait");
	}

	@Test
	void uniqueConstraintUsingABuiltIndexBuildsNothing() {
		StatementLock lock = lock(
				"ALTER TABLE events_2025 ADD CONSTRAINT events_code_2025 UNIQUE USING INDEX " + "events_code_2025");
		assertThat(lock.work()).isEqualTo(Work.NONE);
		assertThat(lock.note()).isEqualTo("turns a built index into a constraint");
	}

	@Test
	void attachingAPartitionsIndexLocksThatIndexAccessExclusiveForACatalogChange() {
		StatementLock lock = lock("ALTER INDEX public.events_kind ATTACH PARTITION public.events_kind_events_2025");
		assertThat(lock.level()).isEqualTo(Level.ACCESS_EXCLUSIVE);
		assertThat(lock.table()).isEqualTo("public.events_kind_events_2025");
		assertThat(lock.also()).isEqualTo("public.events_kind");
		assertThat(lock.work()).isEqualTo(Work.NONE);
		assertThat(lock.note()).contains("a catalog change, brief")
			.contains("SHARE UPDATE EXCLUSIVE")
			.contains("ACCESS SHARE");
	}

	@Test
	void otherFormsOfAlterIndexAreNotGuessed() {
		StatementLock lock = lock("ALTER INDEX events_kind RENAME TO events_kinds");
		assertThat(lock.level()).isEqualTo(Level.UNKNOWN);
	}

	@Test
	void indexOnOnlyAPartitionedTableBuildsNothing() {
		StatementLock lock = lock("CREATE INDEX IF NOT EXISTS events_kind ON ONLY events (kind)");
		assertThat(lock.level()).isEqualTo(Level.SHARE);
		assertThat(lock.table()).isEqualTo("events");
		assertThat(lock.work()).isEqualTo(Work.NONE);
		assertThat(lock.note()).contains("builds nothing");
	}

	@Test
	void indexOnOnlyAnExistingPlainTableBuildsTheIndex() {
		// ONLY means nothing on a table without partitions: the check reports the build
		StatementLock lock = lock("CREATE INDEX users_email ON ONLY users (email)", UnsafeOperation.CREATE_INDEX);
		assertThat(lock.level()).isEqualTo(Level.SHARE);
		assertThat(lock.work()).isEqualTo(Work.SCAN);
		assertThat(lock.note()).isEqualTo("builds the index while writes wait");
	}

	@Test
	void attachingAnExistingTableSaysItScansItUnderAnAccessExclusiveLock() {
		StatementLock lock = lock(
				"ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') TO " + "('2028-01-01')",
				UnsafeOperation.ATTACH_PARTITION_SCAN);
		assertThat(lock.level()).isEqualTo(Level.SHARE_UPDATE_EXCLUSIVE);
		assertThat(lock.table()).isEqualTo("events");
		assertThat(lock.also()).isEqualTo("events_2027");
		assertThat(lock.work()).isEqualTo(Work.SCAN);
		assertThat(lock.note()).contains("locking it ACCESS EXCLUSIVE while it scans it")
			.contains("unless a validated check implies the bound");
	}

	@Test
	void attachingATableTheScriptsCreateScansNothing() {
		StatementLock lock = lock("ALTER TABLE events ATTACH PARTITION events_2028 FOR VALUES FROM ('2028-01-01') TO "
				+ "('2029-01-01')");
		assertThat(lock.level()).isEqualTo(Level.SHARE_UPDATE_EXCLUSIVE);
		assertThat(lock.work()).isEqualTo(Work.NONE);
	}

	private static StatementLock lock(String sql, UnsafeOperation... unsafe) {
		return StatementLock.of(DdlStatement.of(1, sql), Set.of(unsafe));
	}

}
