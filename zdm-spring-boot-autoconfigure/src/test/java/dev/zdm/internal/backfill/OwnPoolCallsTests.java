package dev.zdm.internal.backfill;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.internal.backfill.ApplicationLatency.Totals;
import dev.zdm.metrics.MicrometerApplicationLatency;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link OwnPoolCalls}: zdm's own calls on the application's pool are left out
 * of the application's calls the pacing reads, and zdm's statements still join the
 * application's transactions.
 */
class OwnPoolCallsTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void zdmsOwnCallsAreLeftOutOfTheApplicationsCallsAndTheApplicationsStillCount() {
		SimpleMeterRegistry meters = new SimpleMeterRegistry();
		HikariConfig config = postgres.database().newPoolConfig("own-calls", 3);
		config.setMetricRegistry(meters);
		try (HikariDataSource application = new HikariDataSource(config)) {
			OwnPoolCalls own = new OwnPoolCalls();
			MicrometerApplicationLatency latency = new MicrometerApplicationLatency(meters, own);
			JdbcTemplate zdm = new JdbcTemplate(own.counting(application));
			Totals before = latency.totals();
			long poolCallsBefore = meters.get("hikaricp.connections.usage").timer().count();
			// zdm's calls, each a few milliseconds long (a heartbeat, the endpoint's
			// reads
			// beside a busy workload)
			for (int i = 0; i < 40; i++) {
				zdm.queryForObject("SELECT 1 FROM pg_sleep(0.003)", Integer.class);
			}
			assertThat(meters.get("hikaricp.connections.usage").timer().count() - poolCallsBefore)
				.as("the pool's own count of the calls")
				.isEqualTo(40);
			Totals afterZdm = latency.totals();
			assertThat(afterZdm.calls() - before.calls()).as("application calls counted").isZero();
			// the pool's timers and zdm's own agree within a millisecond a call
			assertThat(Math.abs(afterZdm.nanos() - before.nanos())).isLessThan(40 * 1_000_000.0);
			// the application's calls count as before, with their time
			JdbcTemplate app = new JdbcTemplate(application);
			for (int i = 0; i < 30; i++) {
				app.queryForObject("SELECT 1 FROM pg_sleep(0.003)", Integer.class);
			}
			Totals afterApplication = latency.totals();
			assertThat(afterApplication.calls() - afterZdm.calls()).isEqualTo(30);
			assertThat(afterApplication.meanSince(afterZdm)).as("mean of the application's calls, ns")
				.isGreaterThanOrEqualTo(2_500_000.0);
		}
	}

	@Test
	void aStatementOfZdmsInsideAnApplicationsTransactionJoinsItAndZdmsOwnTransactionsWork() {
		try (HikariDataSource application = new HikariDataSource(postgres.database().newPoolConfig("joined", 3))) {
			OwnPoolCalls own = new OwnPoolCalls();
			DataSource zdm = own.counting(application);
			assertThat(own.counting(zdm)).isSameAs(zdm);
			assertThat(OwnPoolCalls.application(zdm)).isSameAs(application);
			JdbcTemplate zdmJdbc = new JdbcTemplate(zdm);
			JdbcTemplate appJdbc = new JdbcTemplate(application);
			Long[] transactions = new TransactionTemplate(new DataSourceTransactionManager(application))
				.execute((status) -> new Long[] { appJdbc.queryForObject("SELECT txid_current()", Long.class),
						zdmJdbc.queryForObject("SELECT txid_current()", Long.class) });
			assertThat(transactions[1]).as("zdm's statement in the application's transaction")
				.isEqualTo(transactions[0]);
			assertThat(own.totals().calls()).as("zdm borrowed no connection of its own").isZero();
			// zdm's own transaction: one connection, counted once, its statements in it
			Long[] zdmTransaction = new TransactionTemplate(new DataSourceTransactionManager(zdm))
				.execute((status) -> new Long[] { zdmJdbc.queryForObject("SELECT txid_current()", Long.class),
						zdmJdbc.queryForObject("SELECT txid_current()", Long.class) });
			assertThat(zdmTransaction[1]).isEqualTo(zdmTransaction[0]);
			assertThat(own.totals().calls()).isOne();
			// the connection unwraps to PostgreSQL's, as zdm's checks need
			assertThat(zdmJdbc.execute(
					(java.sql.Connection connection) -> connection.isWrapperFor(org.postgresql.PGConnection.class)))
				.isTrue();
		}
	}

}
