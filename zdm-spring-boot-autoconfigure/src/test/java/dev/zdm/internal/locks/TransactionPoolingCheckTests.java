package dev.zdm.internal.locks;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.datasource.DelegatingDataSource;

import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresDatabase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.PgBouncer;
import dev.zdm.testing.SchemaSnapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tests that zdm refuses to start behind a real PgBouncer in transaction mode, with the
 * reason and what to do, changing nothing, and starts behind PgBouncer in session mode
 * and on a direct connection. Skipped when the {@code pgbouncer} binary is not installed.
 */
class TransactionPoolingCheckTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static PgBouncer pgBouncer;

	private final List<MigrationDefinition> migrations = List
		.of(MigrationDefinition.builder("m").table("public.users").build());

	@BeforeAll
	static void startPgBouncer() {
		Path binary = PgBouncer.binary();
		assumeTrue(binary != null, "pgbouncer is not installed (" + PgBouncer.INSTALL + ")");
		postgres.jdbc().execute("CREATE TABLE users (id bigint PRIMARY KEY, email text)");
		pgBouncer = PgBouncer.start(binary, postgres.database());
	}

	@AfterAll
	static void stopPgBouncer() {
		if (pgBouncer != null) {
			pgBouncer.close();
		}
	}

	@Test
	void transactionModeIsRefused() {
		try (HikariDataSource dataSource = dataSource(pgBouncer.transactionModeUrl())) {
			assertThatExceptionOfType(ZdmConfigurationException.class)
				.isThrownBy(() -> new TransactionPoolingCheck(dataSource, 4).checkDataSource(this.migrations))
				.satisfies((ex) -> {
					assertThat(ex.getDescription())
						.contains("the data source reaches PostgreSQL through a pooler in transaction mode")
						.contains("zdm has run nothing");
					assertThat(ex.getAction()).contains("at a pool in session mode");
				});
		}
	}

	@Test
	void transactionModeWithEveryServerSessionInUseIsRefusedWithoutWaitingForThePooler() {
		try (HikariDataSource dataSource = dataSource(pgBouncer.singleServerTransactionModeUrl())) {
			long started = System.nanoTime();
			assertThatExceptionOfType(ZdmConfigurationException.class)
				.isThrownBy(() -> new TransactionPoolingCheck(dataSource, 4).checkDataSource(this.migrations))
				.satisfies((ex) -> assertThat(ex.getDescription())
					.contains("the data source reaches PostgreSQL through a pooler in transaction mode")
					.contains("got no answer to SELECT pg_backend_pid() within 5 s while a second connection held a "
							+ "transaction open"));
			// PgBouncer's own query_wait_timeout is 120 s
			assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(60));
		}
	}

	@Test
	void transactionModeHandingItsServerSessionsOutInTurnIsRefused() {
		// server_round_robin = 1 with two server sessions: the check's second connection
		// got the other one and its first got its own back, every round; a user's two
		// instances then both held the backfill's runner lock
		try (PgBouncer roundRobin = PgBouncer.start(PgBouncer.binary(), postgres.database(), "server_round_robin = 1");
				HikariDataSource dataSource = dataSource(roundRobin.pairTransactionModeUrl())) {
			for (int attempt = 0; attempt < 5; attempt++) {
				assertThatExceptionOfType(ZdmConfigurationException.class)
					.isThrownBy(() -> new TransactionPoolingCheck(dataSource, 4).checkDataSource(this.migrations))
					.satisfies((ex) -> assertThat(ex.getDescription())
						.contains("the data source reaches PostgreSQL through a pooler in transaction mode"));
			}
		}
	}

	@Test
	void sessionModeAndADirectConnectionAreAccepted() {
		try (HikariDataSource session = dataSource(pgBouncer.sessionModeUrl());
				HikariDataSource direct = dataSource(postgres.database().url())) {
			assertThatNoException()
				.isThrownBy(() -> new TransactionPoolingCheck(session, 4).checkDataSource(this.migrations));
			assertThatNoException()
				.isThrownBy(() -> new TransactionPoolingCheck(direct, 4).checkDataSource(this.migrations));
		}
	}

	@Test
	void applicationBehindTransactionModeFailsToStartWithTheReasonAndChangesNothing() {
		List<String> before = SchemaSnapshot.of(postgres.jdbc());
		PostgresDatabase database = postgres.database();
		// a declaration that is wrong too: the pooler is named first, before the catalog
		// checks, which may fail behind it in ways that do not name it
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
			.withPropertyValues("spring.datasource.url=" + pgBouncer.transactionModeUrl(),
					"spring.datasource.username=" + database.username(),
					"spring.datasource.password=" + database.password(), "zdm.migrations.m.table=users",
					"zdm.migrations.m.up.email_address=lower(email)", "zdm.migrations.m.phase=dual-write")
			.run((context) -> {
				assertThat(context).hasFailed();
				ZdmConfigurationException refusal = refusal(context.getStartupFailure());
				assertThat(refusal).as("refusal in %s", context.getStartupFailure()).isNotNull();
				assertThat(refusal.getDescription()).contains("pooler in transaction mode");
				assertThat(refusal.getAction()).contains("Point the application's data source at PostgreSQL directly");
			});
		assertThat(SchemaSnapshot.of(postgres.jdbc())).as("schema after the refusal").isEqualTo(before);
	}

	@Test
	void driverStatementsMissingOrCollidingOnTheNextBackendShowATransactionPooler() {
		// as PgBouncer in transaction mode gives a backend that already holds another
		// client's S_1, or not the one that holds ours
		assertThat(TransactionPoolingCheck.preparedStatementsLost(
				new java.sql.SQLException("ERROR: prepared statement \"S_1\" already exists", "42P05")))
			.contains("were not on the backend of its next transaction", "S_1");
		assertThat(TransactionPoolingCheck.preparedStatementsLost(
				new java.sql.SQLException("ERROR: prepared statement \"S_3\" does not exist", "26000")))
			.contains("S_3");
		assertThat(TransactionPoolingCheck
			.preparedStatementsLost(new java.sql.SQLException("ERROR: connection refused", "08001"))).isNull();
	}

	@Test
	void poolOfOneConnectionIsNotChecked() {
		try (HikariDataSource dataSource = dataSource(pgBouncer.transactionModeUrl())) {
			CountingDataSource counting = new CountingDataSource(dataSource);
			assertThatNoException()
				.isThrownBy(() -> new TransactionPoolingCheck(counting, 1).checkDataSource(this.migrations));
			assertThat(counting.connections).as("connections taken for a pool of one").isZero();
			assertThatExceptionOfType(ZdmConfigurationException.class)
				.isThrownBy(() -> new TransactionPoolingCheck(counting, null).checkDataSource(this.migrations));
			assertThat(counting.connections).as("connections taken when the pool size is not known").isPositive();
		}
	}

	@Test
	void applicationPassesItsPoolSizeToTheCheck() {
		PostgresDatabase database = postgres.database();
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
			.withPropertyValues("spring.datasource.url=" + database.url(),
					"spring.datasource.username=" + database.username(),
					"spring.datasource.password=" + database.password(), "spring.datasource.hikari.maximum-pool-size=3")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(context.getBean(TransactionPoolingCheck.class)).extracting("maximumPoolSize").isEqualTo(3);
			});
	}

	private static ZdmConfigurationException refusal(Throwable failure) {
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			if (cause instanceof ZdmConfigurationException refusal) {
				return refusal;
			}
		}
		return null;
	}

	/** A data source that counts the connections taken from the pool it wraps. */
	private static final class CountingDataSource extends DelegatingDataSource {

		private int connections;

		CountingDataSource(DataSource target) {
			super(target);
		}

		@Override
		public Connection getConnection() throws SQLException {
			this.connections++;
			return super.getConnection();
		}

	}

	private static HikariDataSource dataSource(String url) {
		PostgresDatabase database = postgres.database();
		HikariConfig config = new HikariConfig();
		config.setJdbcUrl(url);
		config.setUsername(database.username());
		config.setPassword(database.password());
		config.setMaximumPoolSize(4);
		config.setMinimumIdle(0);
		return new HikariDataSource(config);
	}

}
