package dev.zdm.autoconfigure;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcClientAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

import dev.zdm.actuate.endpoint.ZdmEndpoint;
import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.autoconfigure.ZdmDualWriteAutoConfiguration;
import dev.zdm.autoconfigure.ZdmEndpointAutoConfiguration;
import dev.zdm.autoconfigure.ZdmHealthContributorAutoConfiguration;
import dev.zdm.autoconfigure.ZdmMetricsAutoConfiguration;
import dev.zdm.dualwrite.DualWriteCall;
import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;
import dev.zdm.health.ZdmHealthIndicator;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.metrics.ZdmMetrics;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Tests for routed repositories when zdm does not run: with {@code zdm.enabled=false}
 * they are routed at the requested phase (read-new as backfill, contract on the new side
 * only) and zdm sends nothing to the database; when zdm is enabled but cannot start,
 * start-up fails with the reason. No test of this class enables zdm, so the database
 * never gets zdm's tables.
 */
@ExtendWith(OutputCaptureExtension.class)
@Isolated
class ZdmDisabledRoutingTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static JdbcTemplate jdbc;

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
				DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
				JdbcTemplateAutoConfiguration.class, JdbcClientAutoConfiguration.class, ZdmAutoConfiguration.class,
				ZdmDualWriteAutoConfiguration.class, ZdmEndpointAutoConfiguration.class,
				ZdmHealthContributorAutoConfiguration.class, ZdmMetricsAutoConfiguration.class))
		.withBean(MeterRegistry.class, SimpleMeterRegistry::new)
		.withPropertyValues(postgres.springProperties())
		.withPropertyValues("zdm.enabled=false", "management.endpoints.web.exposure.include=zdm",
				"zdm.migrations.users-email.table=users", "zdm.migrations.users-email.up.email_address=lower(email)",
				"zdm.migrations.users-email.down.email=email_address", "zdm.migrations.accounts-move.table=accounts",
				"zdm.migrations.accounts-move.sync=repositories");

	@BeforeAll
	static void createTables() {
		jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, email_address text)");
		jdbc.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, name text, email text)");
		jdbc.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text)");
	}

	@BeforeEach
	@AfterEach
	void emptyTables() {
		jdbc.execute("TRUNCATE users, accounts, customers");
		RecordingUsers.phases.clear();
	}

	@Test
	void expandReadsAndWritesTheOldSideAndNothingOfZdmRuns(CapturedOutput output) {
		this.contextRunner.withUserConfiguration(SameTableUsersConfiguration.class)
			.withPropertyValues("zdm.migrations.users-email.phase=expand")
			.run((context) -> {
				assertThat(context).hasNotFailed()
					.doesNotHaveBean(PhaseController.class)
					.doesNotHaveBean(ZdmEndpoint.class)
					.doesNotHaveBean(ZdmHealthIndicator.class)
					.doesNotHaveBean(ZdmMetrics.class);
				Users users = context.getBean(Users.class);
				assertThat(context.getBeansOfType(Users.class)).hasSize(3);
				users.insert(new User(1, "Ann", "Ann@Example.com"));
				users.insert(new User(2, "Bob", "Bob@Example.com"));
				assertThat(row("users", 1)).containsEntry("email", "Ann@Example.com")
					.containsEntry("email_address", null);
				users.updateEmail(1, "Bea@Example.com");
				users.deleteById(2);
				assertThat(row("users", 1)).containsEntry("email", "Bea@Example.com")
					.containsEntry("email_address", null);
				assertThat(count("users")).isOne();
				jdbc.update("UPDATE users SET email_address = 'new@side' WHERE id = 1");
				assertThat(users.findById(1)).map(User::email).contains("Bea@Example.com");
			});
		assertThat(output)
			.contains("zdm is disabled (zdm.enabled=false): " + Users.class.getName()
					+ " routes migration 'users-email' at a fixed phase, expand: reads and writes the old side only")
			.contains("No fleet keeps this instance within one phase of the others");
		assertThatZdmSentNothingToTheDatabase();
	}

	@Test
	void dualWriteOfATriggerSyncedMigrationWritesTheOldSideAndInstallsNoTrigger(CapturedOutput output) {
		this.contextRunner.withUserConfiguration(SameTableUsersConfiguration.class)
			.withPropertyValues("zdm.migrations.users-email.phase=dual-write")
			.run((context) -> {
				Users users = context.getBean(Users.class);
				users.insert(new User(1, "Ann", "Ann@Example.com"));
				assertThat(row("users", 1)).containsEntry("email", "Ann@Example.com")
					.as("without zdm's trigger nothing derives the new column")
					.containsEntry("email_address", null);
			});
		assertThat(output).contains("at a fixed phase, dual-write: reads and writes the old side, the new columns "
				+ "kept in sync only by a sync trigger zdm installed while enabled");
		assertThatZdmSentNothingToTheDatabase();
	}

	@Test
	void dualWriteThroughRepositoriesWritesBothSidesInOneTransactionAndReadsTheOldSide() {
		this.contextRunner.withUserConfiguration(TwoTableUsersConfiguration.class)
			.withPropertyValues("zdm.migrations.accounts-move.phase=dual-write")
			.run((context) -> {
				Users users = context.getBean(Users.class);
				users.insert(new User(1, "Ann", "ann@example.com"));
				users.insert(new User(2, "Bob", "bob@example.com"));
				users.updateEmail(1, "bea@example.com");
				users.deleteById(2);
				assertThat(row("accounts", 1)).containsEntry("email", "bea@example.com");
				assertThat(row("customers", 1)).containsEntry("email", "bea@example.com");
				assertThat(count("accounts")).isOne();
				assertThat(count("customers")).isOne();
				jdbc.update("UPDATE customers SET email = 'new@side' WHERE id = 1");
				assertThat(users.findById(1)).map(User::email).contains("bea@example.com");
				jdbc.execute("ALTER TABLE customers ADD CONSTRAINT short_email CHECK (length(email) < 16)");
				try {
					assertThat(catchThrowable(() -> users.insert(new User(3, "Cyd", "cyd@a-long-domain.example.com"))))
						.as("a failed sync fails the write")
						.isNotNull();
					assertThat(count("accounts")).as("and rolls the old side back").isOne();
				}
				finally {
					jdbc.execute("ALTER TABLE customers DROP CONSTRAINT short_email");
				}
			});
		assertThatZdmSentNothingToTheDatabase();
	}

	@Test
	void readNewIsRoutedAsBackfillSinceNothingChecksTheVerification(CapturedOutput output) {
		this.contextRunner.withUserConfiguration(TwoTableUsersConfiguration.class)
			.withPropertyValues("zdm.migrations.accounts-move.phase=read-new")
			.run((context) -> {
				Users users = context.getBean(Users.class);
				users.insert(new User(1, "Ann", "ann@example.com"));
				assertThat(row("accounts", 1)).containsEntry("email", "ann@example.com");
				assertThat(row("customers", 1)).containsEntry("email", "ann@example.com");
				assertThat(RecordingUsers.phases).containsEntry("accounts", Phase.BACKFILL)
					.containsEntry("customers", Phase.BACKFILL);
				jdbc.update("UPDATE customers SET email = 'new@side' WHERE id = 1");
				assertThat(users.findById(1)).map(User::email).contains("ann@example.com");
			});
		assertThat(output).contains("at a fixed phase, backfill (requested read-new): nothing checks that the "
				+ "backfill was verified, so reads stay on the old side");
		assertThatZdmSentNothingToTheDatabase();
	}

	@Test
	void contractReadsAndWritesTheNewSideOnly(CapturedOutput output) {
		this.contextRunner.withUserConfiguration(TwoTableUsersConfiguration.class)
			.withPropertyValues("zdm.migrations.accounts-move.phase=contract")
			.run((context) -> {
				Users users = context.getBean(Users.class);
				jdbc.execute("ALTER TABLE accounts RENAME TO accounts_dropped");
				try {
					users.insert(new User(1, "Ann", "ann@example.com"));
					users.updateEmail(1, "bea@example.com");
					assertThat(row("customers", 1)).containsEntry("email", "bea@example.com");
					assertThat(users.findById(1)).map(User::email).contains("bea@example.com");
					users.deleteById(1);
					assertThat(count("customers")).isZero();
				}
				finally {
					jdbc.execute("ALTER TABLE accounts_dropped RENAME TO accounts");
				}
				assertThat(count("accounts")).isZero();
			});
		assertThat(output).contains("at a fixed phase, contract: reads and writes the new side only");
		assertThatZdmSentNothingToTheDatabase();
	}

	@Test
	void misspeltPhaseFailsStartUpInsteadOfRoutingAtExpand() {
		this.contextRunner.withUserConfiguration(SameTableUsersConfiguration.class)
			.withPropertyValues("zdm.migrations.users-email.phse=read-new")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription())
					.contains("Migration 'users-email': unknown property zdm.migrations.users-email.phse");
				assertThat(analysis.getAction()).contains("Did you mean zdm.migrations.users-email.phase?");
			});
		assertThatZdmSentNothingToTheDatabase();
	}

	@Test
	void undeclaredMigrationFailsStartUp() {
		this.contextRunner.withUserConfiguration(UndeclaredMigrationConfiguration.class).run((context) -> {
			FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
			assertThat(analysis.getDescription()).contains("Migration 'users-emial'")
				.contains("no such migration is declared");
		});
		assertThatZdmSentNothingToTheDatabase();
	}

	@Test
	void withoutFlywayARoutedRepositoryFailsStartUpWithTheReason() {
		this.contextRunner.withClassLoader(new FilteredClassLoader("org.flywaydb.core"))
			.withPropertyValues("zdm.enabled=true")
			.withUserConfiguration(SameTableUsersConfiguration.class)
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription()).contains("repository " + Users.class.getName()
						+ " is routed by zdm, but zdm is not running: Flyway is not on the class path");
				assertThat(analysis.getAction()).contains("org.flywaydb:flyway-core")
					.contains("Or set zdm.enabled=false");
			});
		assertThatZdmSentNothingToTheDatabase();
	}

	@Test
	void withoutADataSourceARoutedRepositoryFailsStartUpWithTheReason() {
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(ZdmAutoConfiguration.class, ZdmDualWriteAutoConfiguration.class))
			.withUserConfiguration(InMemoryUsersConfiguration.class)
			.withPropertyValues("zdm.migrations.users-email.table=users")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription()).contains("zdm is not running: the application has no DataSource");
				assertThat(analysis.getAction()).contains("spring.datasource.url").contains("zdm.enabled=false");
			});
	}

	@Test
	void withTwoDataSourcesAndNoPrimaryARoutedRepositoryFailsStartUpWithTheReason() {
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(ZdmAutoConfiguration.class, ZdmDualWriteAutoConfiguration.class))
			.withUserConfiguration(InMemoryUsersConfiguration.class)
			.withBean("one", DataSource.class, SimpleDriverDataSource::new)
			.withBean("two", DataSource.class, SimpleDriverDataSource::new)
			.withPropertyValues("zdm.migrations.users-email.table=users")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription()).contains("2 DataSource beans [one, two]");
				assertThat(analysis.getAction()).contains("@Primary");
			});
	}

	@Test
	void disabledWithoutATransactionManagerOrDataSourceFailsStartUpWithTheReason() {
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(ZdmAutoConfiguration.class, ZdmDualWriteAutoConfiguration.class))
			.withUserConfiguration(InMemoryUsersConfiguration.class)
			.withPropertyValues("zdm.enabled=false", "zdm.migrations.users-email.table=users")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription())
					.contains("neither a single PlatformTransactionManager nor a single DataSource");
			});
	}

	@Test
	void disabledWithoutRoutedRepositoriesIgnoresTheDeclarations() {
		this.contextRunner.withPropertyValues("zdm.migrations.users-email.phase=no-such-phase")
			.run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(PhaseController.class));
	}

	private static void assertThatZdmSentNothingToTheDatabase() {
		assertThat(jdbc.queryForList("SELECT relname FROM pg_class WHERE relname LIKE 'zdm%'", String.class))
			.as("zdm's tables")
			.isEmpty();
		assertThat(jdbc.queryForObject("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal", Integer.class))
			.as("triggers")
			.isZero();
	}

	private static FailureAnalysis analyzeStartupFailure(Throwable failure) {
		assertThat(failure).isNotNull();
		FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(failure);
		assertThat(analysis).as("analysis of %s", failure).isNotNull();
		assertThat(analysis.getCause()).isInstanceOf(ZdmConfigurationException.class);
		return analysis;
	}

	private static Map<String, Object> row(String table, long id) {
		return jdbc.queryForMap("SELECT * FROM " + table + " WHERE id = ?", id);
	}

	private static int count(String table) {
		Integer count = jdbc.queryForObject("SELECT count(*) FROM " + table, Integer.class);
		return (count != null) ? count : 0;
	}

	record User(long id, String name, String email) {
	}

	/** The application's repository interface. */
	interface Users {

		Optional<User> findById(long id);

		void insert(User user);

		void updateEmail(long id, String email);

		void deleteById(long id);

	}

	/**
	 * {@link Users} on one table and e-mail column, recording the phase each table was
	 * last written at.
	 */
	static class RecordingUsers implements Users {

		static final Map<String, Phase> phases = new ConcurrentHashMap<>();

		private final JdbcClient jdbc;

		private final String table;

		private final String emailColumn;

		RecordingUsers(JdbcClient jdbc, String table, String emailColumn) {
			this.jdbc = jdbc;
			this.table = table;
			this.emailColumn = emailColumn;
		}

		@Override
		public Optional<User> findById(long id) {
			return this.jdbc
				.sql("SELECT id, name, " + this.emailColumn + " AS email FROM " + this.table + " WHERE id = ?")
				.param(id)
				.query(User.class)
				.optional();
		}

		@Override
		public void insert(User user) {
			record();
			this.jdbc.sql("INSERT INTO " + this.table + " (id, name, " + this.emailColumn + ") VALUES (?, ?, ?)")
				.params(user.id(), user.name(), user.email())
				.update();
		}

		@Override
		public void updateEmail(long id, String email) {
			record();
			this.jdbc.sql("UPDATE " + this.table + " SET " + this.emailColumn + " = ? WHERE id = ?")
				.params(email, id)
				.update();
		}

		@Override
		public void deleteById(long id) {
			record();
			this.jdbc.sql("DELETE FROM " + this.table + " WHERE id = ?").param(id).update();
		}

		private void record() {
			DualWriteCall call = DualWriteCall.current();
			if (call != null) {
				phases.put(this.table, call.phase());
			}
		}

	}

	/**
	 * {@link Users} kept in memory, for contexts without a database.
	 */
	static class InMemoryUsers implements Users {

		private final Map<Long, User> users = new ConcurrentHashMap<>();

		@Override
		public Optional<User> findById(long id) {
			return Optional.ofNullable(this.users.get(id));
		}

		@Override
		public void insert(User user) {
			this.users.put(user.id(), user);
		}

		@Override
		public void updateEmail(long id, String email) {
			this.users.computeIfPresent(id, (key, user) -> new User(id, user.name(), email));
		}

		@Override
		public void deleteById(long id) {
			this.users.remove(id);
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class SameTableUsersConfiguration {

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.OLD)
		Users oldUsers(JdbcClient jdbc) {
			return new RecordingUsers(jdbc, "users", "email");
		}

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.NEW)
		Users newUsers(JdbcClient jdbc) {
			return new RecordingUsers(jdbc, "users", "email_address");
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class TwoTableUsersConfiguration {

		@Bean
		@ZdmRepository(migration = "accounts-move", schema = Schema.OLD)
		Users oldUsers(JdbcClient jdbc) {
			return new RecordingUsers(jdbc, "accounts", "email");
		}

		@Bean
		@ZdmRepository(migration = "accounts-move", schema = Schema.NEW)
		Users newUsers(JdbcClient jdbc) {
			return new RecordingUsers(jdbc, "customers", "email");
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UndeclaredMigrationConfiguration {

		@Bean
		@ZdmRepository(migration = "users-emial", schema = Schema.OLD)
		Users oldUsers(JdbcClient jdbc) {
			return new RecordingUsers(jdbc, "users", "email");
		}

		@Bean
		@ZdmRepository(migration = "users-emial", schema = Schema.NEW)
		Users newUsers(JdbcClient jdbc) {
			return new RecordingUsers(jdbc, "users", "email_address");
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class InMemoryUsersConfiguration {

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.OLD)
		Users oldUsers() {
			return new InMemoryUsers();
		}

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.NEW)
		Users newUsers() {
			return new InMemoryUsers();
		}

	}

}
