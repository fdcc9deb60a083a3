package dev.zdm.internal.locks;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import dev.zdm.internal.locks.WalInspector.ArchiveBacklog;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link WalInspector} against a real PostgreSQL that does not archive its WAL
 * (the test server's default). The archive backlog of a server that archives is tested on
 * a server of its own ({@code BackfillWalArchiveTests}).
 */
@ExtendWith(OutputCaptureExtension.class)
@Isolated
class WalInspectorTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final AtomicLong clock = new AtomicLong();

	@Test
	void walRateIsTheWalThisDatabaseWroteBetweenTwoReadingsPerSecond() {
		postgres.jdbc().execute("CREATE TABLE wal_written (id bigint PRIMARY KEY, payload text)");
		WalInspector inspector = new WalInspector(postgres.dataSource(), this.clock::get);
		assertThat(inspector.walRate()).as("before a first window ends").isNull();
		// about 1.6 MB of rows a segment's compression does not shrink (each under the
		// size at which PostgreSQL compresses a value)
		postgres.jdbc()
			.update("INSERT INTO wal_written SELECT i, repeat(md5(random()::text), 50) FROM generate_series(1, 1000) AS i");
		this.clock.addAndGet(Duration.ofMillis(500).toNanos());
		assertThat(inspector.walRate()).as("within the first window").isNull();
		this.clock.addAndGet(Duration.ofMillis(500).toNanos());
		Double rate = inspector.walRate();
		assertThat(rate).as("bytes of WAL over one second").isNotNull().isGreaterThan(1_600_000.0);
		// the next window: nothing but the inspector's own reads
		this.clock.addAndGet(Duration.ofSeconds(10).toNanos());
		assertThat(inspector.walRate()).as("over 10 s of almost nothing").isLessThan(rate / 100);
	}

	@Test
	void serverThatDoesNotArchiveHasNoBacklogToReadAndSaysSoOnce(CapturedOutput output) {
		WalInspector inspector = new WalInspector(postgres.dataSource(), this.clock::get);
		assertThat(inspector.archiveBacklog()).isEqualTo(ArchiveBacklog.unreadable());
		this.clock.addAndGet(Duration.ofSeconds(5).toNanos());
		assertThat(inspector.archiveBacklog().readable()).isFalse();
		assertThat(output.getOut().split("the database does not archive its WAL \\(archive_mode=off\\)", -1))
			.hasSize(2);
		assertThat(output).contains("so backfills do not hold back for a WAL archive backlog");
	}

}
