package dev.zdm.autoconfigure;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.StreamSupport;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.jdbc.autoconfigure.DataJdbcRepositoriesAutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcClientAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.data.annotation.Id;
import org.springframework.data.jdbc.core.JdbcAggregateTemplate;
import org.springframework.data.jdbc.repository.config.EnableJdbcRepositories;
import org.springframework.data.relational.core.mapping.Table;
import org.springframework.data.repository.CrudRepository;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;

import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.autoconfigure.ZdmDualWriteAutoConfiguration;
import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRead;
import dev.zdm.dualwrite.ZdmRepository;
import dev.zdm.internal.dualwrite.SameTableSyncTrigger;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.JdbcClientUsers;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for the dual-write repository proxies as wired by
 * {@link ZdmDualWriteAutoConfiguration}: implementations on Spring Data JDBC and on
 * {@code JdbcClient}, and start-up failures for repositories that cannot be routed.
 */
class DualWriteAutoConfigurationTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static JdbcTemplate jdbc;

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
				DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
				JdbcTemplateAutoConfiguration.class, JdbcClientAutoConfiguration.class, ZdmAutoConfiguration.class,
				ZdmDualWriteAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties())
		.withPropertyValues(TestFleet.properties())
		.withPropertyValues("zdm.migrations.users-email.table=users",
				"zdm.migrations.users-email.up[email_address]=lower(email)",
				"zdm.migrations.users-email.down[email]=email_address");

	@BeforeAll
	static void createTable() {
		jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, email_address text)");
		MigrationDefinition migration = MigrationDefinition.builder("users-email")
			.table("public.users")
			.up("email_address", "lower(email)")
			.down("email", "email_address")
			.build();
		new SameTableSyncTrigger(postgres.dataSource()).expandStatements(migration).forEach(jdbc::execute);
	}

	@BeforeEach
	void emptyTable() {
		jdbc.execute("TRUNCATE users");
	}

	@Test
	void routingBeanIsThePrimaryBeanOfTheRepositoryInterface() {
		this.contextRunner.withConfiguration(AutoConfigurations.of(DataJdbcRepositoriesAutoConfiguration.class))
			.withUserConfiguration(SpringDataJdbcUsersConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=dual-write")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(context.getBeansOfType(Users.class)).hasSize(3);
				Users users = context.getBean(Users.class);
				assertThat(Proxy.isProxyClass(users.getClass())).isTrue();
				assertThat(users).hasToString("Dual-write " + Users.class.getName() + " for migration 'users-email'");
				assertThat(context).hasSingleBean(SameTableSyncTrigger.class);
			});
	}

	@Test
	void springDataJdbcRepositoriesWriteOldAndReadOldInDualWrite() {
		this.contextRunner.withConfiguration(AutoConfigurations.of(DataJdbcRepositoriesAutoConfiguration.class))
			.withUserConfiguration(SpringDataJdbcUsersConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=dual-write")
			.run((context) -> {
				Users users = context.getBean(Users.class);
				users.insert(new User(1, "Ann", "Ann@Example.com"));
				assertThat(user(1)).containsEntry("email", "Ann@Example.com")
					.containsEntry("email_address", "ann@example.com");
				users.updateEmail(1, "Bea@Example.com");
				assertThat(user(1)).containsEntry("email", "Bea@Example.com")
					.containsEntry("email_address", "bea@example.com");
				assertThat(users.findById(1)).map(User::email).contains("Bea@Example.com");
				assertThat(users.everyone()).extracting(User::email).containsExactly("Bea@Example.com");
				users.deleteById(1);
				assertThat(jdbc.queryForObject("SELECT count(*) FROM users", Integer.class)).isZero();
			});
	}

	@Test
	void springDataJdbcRepositoriesWriteNewAndReadNewFromReadNewOn() {
		DataSourceHolder.verify("users-email");
		this.contextRunner.withConfiguration(AutoConfigurations.of(DataJdbcRepositoriesAutoConfiguration.class))
			.withUserConfiguration(SpringDataJdbcUsersConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=read-new")
			.run((context) -> {
				Users users = context.getBean(Users.class);
				users.insert(new User(1, "Ann", "Ann@Example.com"));
				assertThat(user(1)).containsEntry("email", "Ann@Example.com")
					.containsEntry("email_address", "Ann@Example.com");
				users.updateEmail(1, "Bea@Example.com");
				assertThat(user(1)).containsEntry("email", "Bea@Example.com")
					.containsEntry("email_address", "Bea@Example.com");
				jdbc.update("UPDATE users SET email = 'old@side', email_address = 'new@side' WHERE id = 1");
				assertThat(users.findById(1)).map(User::email).contains("new@side");
				users.deleteById(1);
				assertThat(jdbc.queryForObject("SELECT count(*) FROM users", Integer.class)).isZero();
			});
	}

	@Test
	void beanMethodsCanBeMarked() {
		this.contextRunner.withUserConfiguration(JdbcClientUsersConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=backfill")
			.run((context) -> {
				Users users = context.getBean(Users.class);
				users.insert(new User(1, "Ann", "Ann@Example.com"));
				assertThat(user(1)).containsEntry("email", "Ann@Example.com")
					.containsEntry("email_address", "ann@example.com");
				assertThat(users.findById(1)).map(User::email).contains("Ann@Example.com");
			});
	}

	@Test
	void repositoryMethodThatCannotBeRoutedFailsStartUp() {
		this.contextRunner.withUserConfiguration(UnroutableConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=dual-write")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription()).contains("Migration 'users-email'")
					.contains(UnroutableUsers.class.getName() + ".frobnicate(long)")
					.contains("cannot be routed");
				assertThat(analysis.getAction()).contains("@ZdmRead or @ZdmWrite");
			});
	}

	@Test
	void missingImplementationFailsStartUp() {
		this.contextRunner.withUserConfiguration(OldSideOnlyConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=dual-write")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription()).contains(Users.class.getName())
					.contains(
							"no implementation marked with @ZdmRepository(migration = \"users-email\", schema = NEW)");
			});
	}

	@Test
	void twoImplementationsOfOneSideFailStartUp() {
		this.contextRunner.withUserConfiguration(JdbcClientUsersConfiguration.class, OldSideOnlyConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=dual-write")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription()).contains("2 implementations").contains("schema = OLD");
			});
	}

	@Test
	void undeclaredMigrationFailsStartUpBeforeAnythingIsWritten() {
		// zdm's own tables in a schema of their own: a start-up that wrote anything
		// (zdm's tables, the fleet registry, the expand) would have created it
		this.contextRunner.withUserConfiguration(UndeclaredMigrationConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=dual-write",
					"zdm.schema=zdm_undeclared_repository")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription()).contains("Migration 'users-emial'")
					.contains("no such migration is declared");
				assertThat(analysis.getAction())
					.startsWith("Did you mean @ZdmRepository(migration = \"users-email\")?");
			});
		assertThat(jdbc.queryForObject("SELECT count(*) FROM pg_namespace WHERE nspname = 'zdm_undeclared_repository'",
				Integer.class))
			.isZero();
	}

	@Test
	void unknownSyncModeFailsStartUp() {
		this.contextRunner.withUserConfiguration(JdbcClientUsersConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.sync=magic")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription()).contains("unknown sync mode 'magic'");
				assertThat(analysis.getAction()).contains("zdm.migrations.users-email.sync");
			});
	}

	@Test
	void syncModeCanBeSetToRepositories() {
		this.contextRunner.withUserConfiguration(JdbcClientUsersConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.sync=repositories")
			.run((context) -> {
				MigrationDefinition migration = context.getBean(PhaseController.class).migrations().get(0);
				assertThat(migration.sync()).isEqualTo(SyncMode.REPOSITORIES);
				assertThat(context.getBean(SameTableSyncTrigger.class).expandStatements(migration)).isEmpty();
			});
	}

	@Test
	void applicationSyncRoutesWritesToTheImplementationOfBothSides() {
		this.contextRunner.withUserConfiguration(JdbcClientUsersConfiguration.class, BothSidesConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.sync=application",
					"zdm.migrations.users-email.phase=dual-write")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				MigrationDefinition migration = context.getBean(PhaseController.class).migrations().get(0);
				assertThat(migration.sync()).isEqualTo(SyncMode.APPLICATION);
				assertThat(context.getBean(SameTableSyncTrigger.class).expandStatements(migration)).isEmpty();
				Users users = context.getBean(Users.class);
				users.insert(new User(1, "Ann", "Ann@Example.com"));
				users.updateEmail(1, "Bea@Example.com");
				assertThat(context.getBean(BothSidesUsers.class).writes).hasValue(2);
				assertThat(jdbc.queryForMap("SELECT email, email_address FROM users WHERE id = 1"))
					.containsEntry("email", "Bea@Example.com")
					.containsEntry("email_address", "bea@example.com");
			});
	}

	@Test
	void implementationOfBothSidesWithoutApplicationSyncFailsStartUp() {
		this.contextRunner.withUserConfiguration(JdbcClientUsersConfiguration.class, BothSidesConfiguration.class)
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=dual-write")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription()).contains("marked with Schema.BOTH").contains("synced by trigger");
				assertThat(analysis.getAction()).contains("zdm.migrations.users-email.sync=application");
			});
	}

	@Test
	void applicationSyncWithoutDownExpressionsFailsStartUp() {
		this.contextRunner
			.withPropertyValues(instance(), "zdm.migrations.guests-email.table=users",
					"zdm.migrations.guests-email.up[email_address]=lower(email)",
					"zdm.migrations.guests-email.sync=application")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription()).contains("sync: application needs up and down expressions")
					.contains("no down is declared");
				assertThat(analysis.getAction()).contains("zdm.migrations.guests-email.down");
			});
	}

	@Test
	void applicationSyncIntoAnotherTableFailsStartUp() {
		this.contextRunner
			.withPropertyValues(instance(), "zdm.migrations.guests-move.table=users",
					"zdm.migrations.guests-move.target-table=guests", "zdm.migrations.guests-move.up[email]=email",
					"zdm.migrations.guests-move.sync=application")
			.run((context) -> {
				FailureAnalysis analysis = analyzeStartupFailure(context.getStartupFailure());
				assertThat(analysis.getDescription())
					.contains("sync: application is not supported for a migration into another table");
			});
	}

	@Test
	void switchingToTriggerSyncAfterTheExpandRunsTheExpandAgainForTheTrigger() {
		jdbc.execute("CREATE TABLE switchers (id bigint PRIMARY KEY, email text, email_address text)");
		String[] declared = { "zdm.migrations.switchers-email.table=switchers",
				"zdm.migrations.switchers-email.up[email_address]=lower(email)",
				"zdm.migrations.switchers-email.down[email]=email_address",
				"zdm.migrations.switchers-email.phase=dual-write" };
		this.contextRunner.withPropertyValues(declared)
			.withPropertyValues(instance(), "zdm.migrations.switchers-email.sync=application")
			.run((context) -> {
				PhaseController phases = context.getBean(PhaseController.class);
				await().atMost(Duration.ofSeconds(60))
					.until(() -> phases.status("switchers-email").effective() == Phase.DUAL_WRITE);
				assertThat(triggersOn("switchers")).isZero();
			});
		this.contextRunner.withPropertyValues(declared)
			.withPropertyValues(instance(), "zdm.migrations.switchers-email.sync=trigger")
			.run((context) -> {
				PhaseController phases = context.getBean(PhaseController.class);
				await().atMost(Duration.ofSeconds(60))
					.until(() -> phases.status("switchers-email").effective() == Phase.DUAL_WRITE
							&& triggersOn("switchers") == 1);
				jdbc.update("INSERT INTO switchers (id, email) VALUES (1, 'Ann@Example.com')");
				assertThat(jdbc.queryForObject("SELECT email_address FROM switchers WHERE id = 1", String.class))
					.isEqualTo("ann@example.com");
			});
	}

	private static int triggersOn(String table) {
		return jdbc.queryForObject("SELECT count(*) FROM pg_trigger WHERE tgrelid = ?::regclass AND NOT tgisinternal",
				Integer.class, table);
	}

	private static FailureAnalysis analyzeStartupFailure(Throwable failure) {
		assertThat(failure).isNotNull();
		FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(failure);
		assertThat(analysis).as("analysis of %s", failure).isNotNull();
		assertThat(analysis.getCause()).isInstanceOf(ZdmConfigurationException.class);
		return analysis;
	}

	private static String instance() {
		return "zdm.instance-id=test-" + UUID.randomUUID();
	}

	private static Map<String, Object> user(long id) {
		return jdbc.queryForMap("SELECT email, email_address FROM users WHERE id = ?", id);
	}

	static final class DataSourceHolder {

		static void verify(String migrationId) {
			new ZdmSchema(postgres.dataSource()).migrate();
			MigrationStateRepository states = new MigrationStateRepository(postgres.dataSource());
			states.register(migrationId);
			states.markVerified(migrationId, "test");
		}

	}

	record User(long id, String name, String email) {
	}

	/** The application's repository interface. */
	interface Users {

		Optional<User> findById(long id);

		@ZdmRead
		List<User> everyone();

		void insert(User user);

		void updateEmail(long id, String email);

		void deleteById(long id);

	}

	interface UnroutableUsers {

		Optional<User> findById(long id);

		void frobnicate(long id);

	}

	@Table("users")
	record OldUserRow(@Id Long id, String name, String email) {
	}

	@Table("users")
	record NewUserRow(@Id Long id, String name, String emailAddress) {
	}

	interface OldUserRows extends CrudRepository<OldUserRow, Long> {

	}

	interface NewUserRows extends CrudRepository<NewUserRow, Long> {

	}

	@ZdmRepository(migration = "users-email", schema = Schema.OLD)
	static class OldSpringDataUsers implements Users {

		private final OldUserRows rows;

		private final JdbcAggregateTemplate aggregates;

		OldSpringDataUsers(OldUserRows rows, JdbcAggregateTemplate aggregates) {
			this.rows = rows;
			this.aggregates = aggregates;
		}

		@Override
		public Optional<User> findById(long id) {
			return this.rows.findById(id).map((row) -> new User(row.id(), row.name(), row.email()));
		}

		@Override
		public List<User> everyone() {
			return StreamSupport.stream(this.rows.findAll().spliterator(), false)
				.map((row) -> new User(row.id(), row.name(), row.email()))
				.toList();
		}

		@Override
		public void insert(User user) {
			this.aggregates.insert(new OldUserRow(user.id(), user.name(), user.email()));
		}

		@Override
		public void updateEmail(long id, String email) {
			this.rows.findById(id).ifPresent((row) -> this.rows.save(new OldUserRow(row.id(), row.name(), email)));
		}

		@Override
		public void deleteById(long id) {
			this.rows.deleteById(id);
		}

	}

	@ZdmRepository(migration = "users-email", schema = Schema.NEW)
	static class NewSpringDataUsers implements Users {

		private final NewUserRows rows;

		private final JdbcAggregateTemplate aggregates;

		NewSpringDataUsers(NewUserRows rows, JdbcAggregateTemplate aggregates) {
			this.rows = rows;
			this.aggregates = aggregates;
		}

		@Override
		public Optional<User> findById(long id) {
			return this.rows.findById(id).map((row) -> new User(row.id(), row.name(), row.emailAddress()));
		}

		@Override
		public List<User> everyone() {
			return StreamSupport.stream(this.rows.findAll().spliterator(), false)
				.map((row) -> new User(row.id(), row.name(), row.emailAddress()))
				.toList();
		}

		@Override
		public void insert(User user) {
			this.aggregates.insert(new NewUserRow(user.id(), user.name(), user.email()));
		}

		@Override
		public void updateEmail(long id, String email) {
			this.rows.findById(id).ifPresent((row) -> this.rows.save(new NewUserRow(row.id(), row.name(), email)));
		}

		@Override
		public void deleteById(long id) {
			this.rows.deleteById(id);
		}

	}

	static class JdbcClientUsers implements Users {

		private final JdbcClient jdbc;

		private final String emailColumn;

		JdbcClientUsers(JdbcClient jdbc, String emailColumn) {
			this.jdbc = jdbc;
			this.emailColumn = emailColumn;
		}

		@Override
		public Optional<User> findById(long id) {
			return this.jdbc.sql("SELECT id, name, " + this.emailColumn + " AS email FROM users WHERE id = ?")
				.param(id)
				.query(User.class)
				.optional();
		}

		@Override
		public List<User> everyone() {
			return this.jdbc.sql("SELECT id, name, " + this.emailColumn + " AS email FROM users ORDER BY id")
				.query(User.class)
				.list();
		}

		@Override
		public void insert(User user) {
			this.jdbc.sql("INSERT INTO users (id, name, " + this.emailColumn + ") VALUES (?, ?, ?)")
				.params(user.id(), user.name(), user.email())
				.update();
		}

		@Override
		public void updateEmail(long id, String email) {
			this.jdbc.sql("UPDATE users SET " + this.emailColumn + " = ? WHERE id = ?").params(email, id).update();
		}

		@Override
		public void deleteById(long id) {
			this.jdbc.sql("DELETE FROM users WHERE id = ?").param(id).update();
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableJdbcRepositories(considerNestedRepositories = true, basePackageClasses = OldUserRows.class,
			includeFilters = @org.springframework.context.annotation.ComponentScan.Filter(
					type = org.springframework.context.annotation.FilterType.ASSIGNABLE_TYPE,
					classes = { OldUserRows.class, NewUserRows.class }))
	@Import({ OldSpringDataUsers.class, NewSpringDataUsers.class })
	static class SpringDataJdbcUsersConfiguration {

	}

	/**
	 * Writes both columns in one statement, counting its writes.
	 */
	static class BothSidesUsers extends JdbcClientUsers {

		final AtomicInteger writes = new AtomicInteger();

		private final JdbcClient jdbc;

		BothSidesUsers(JdbcClient jdbc) {
			super(jdbc, "email");
			this.jdbc = jdbc;
		}

		@Override
		public void insert(User user) {
			this.writes.incrementAndGet();
			this.jdbc.sql("INSERT INTO users (id, name, email, email_address) VALUES (?, ?, ?, lower(?))")
				.params(user.id(), user.name(), user.email(), user.email())
				.update();
		}

		@Override
		public void updateEmail(long id, String email) {
			this.writes.incrementAndGet();
			this.jdbc.sql("UPDATE users SET email = ?, email_address = lower(?) WHERE id = ?")
				.params(email, email, id)
				.update();
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class BothSidesConfiguration {

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.BOTH)
		BothSidesUsers bothSidesUsers(JdbcClient jdbc) {
			return new BothSidesUsers(jdbc);
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class JdbcClientUsersConfiguration {

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.OLD)
		Users oldUsers(JdbcClient jdbc) {
			return new JdbcClientUsers(jdbc, "email");
		}

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.NEW)
		Users newUsers(JdbcClient jdbc) {
			return new JdbcClientUsers(jdbc, "email_address");
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class OldSideOnlyConfiguration {

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.OLD)
		Users onlyOldUsers(JdbcClient jdbc) {
			return new JdbcClientUsers(jdbc, "email");
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UndeclaredMigrationConfiguration {

		@Bean
		@ZdmRepository(migration = "users-emial", schema = Schema.OLD)
		Users oldUsers(JdbcClient jdbc) {
			return new JdbcClientUsers(jdbc, "email");
		}

		@Bean
		@ZdmRepository(migration = "users-emial", schema = Schema.NEW)
		Users newUsers(JdbcClient jdbc) {
			return new JdbcClientUsers(jdbc, "email_address");
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UnroutableConfiguration {

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.OLD)
		UnroutableUsers oldUsers() {
			return new UnroutableUsers() {
				@Override
				public Optional<User> findById(long id) {
					return Optional.empty();
				}

				@Override
				public void frobnicate(long id) {
				}
			};
		}

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.NEW)
		UnroutableUsers newUsers() {
			return oldUsers();
		}

	}

}
