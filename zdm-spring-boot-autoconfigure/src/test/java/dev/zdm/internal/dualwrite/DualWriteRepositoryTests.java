package dev.zdm.internal.dualwrite;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import org.springframework.dao.DataAccessException;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.UnexpectedRollbackException;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.dualwrite.DualWriteCall;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.JdbcClientUsers.BothColumnsUserStore;
import dev.zdm.testing.JdbcClientUsers.ColumnUserStore;
import dev.zdm.testing.JdbcClientUsers.User;
import dev.zdm.testing.JdbcClientUsers.UserStore;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static dev.zdm.testing.JdbcClientUsers.ACCOUNTS_CUSTOMERS;
import static dev.zdm.testing.JdbcClientUsers.USERS_EMAIL;
import static dev.zdm.testing.JdbcClientUsers.accounts;
import static dev.zdm.testing.JdbcClientUsers.users;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link DualWriteRepositoryFactory} with repositories on {@code JdbcClient}:
 * where reads come from and what the old and new sides hold after writes, in every phase,
 * for a same-table migration synced by the trigger, one synced by the application
 * ({@code members}, no trigger) and a cross-table one (synced by the repositories).
 */
class DualWriteRepositoryTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	/**
	 * Same table, synced by the application: no trigger, writes of both columns at once.
	 */
	private static final MigrationDefinition MEMBERS_EMAIL = MigrationDefinition.builder("members-email")
		.table("members")
		.up("email_address", "lower(email)")
		.down("email", "email_address")
		.sync(SyncMode.APPLICATION)
		.build();

	private static JdbcTemplate jdbc;

	private final List<PhaseController> controllers = new ArrayList<>();

	@BeforeAll
	static void createTables() {
		jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, "
				+ "email_address text CHECK (email_address LIKE '%@%'))");
		jdbc.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, name text, email text)");
		jdbc.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text CHECK (email LIKE '%@%'))");
		jdbc.execute("CREATE TABLE members (id bigint PRIMARY KEY, name text, email text, email_address text)");
		SameTableSyncTrigger trigger = new SameTableSyncTrigger(postgres.dataSource());
		trigger.expandStatements(USERS_EMAIL.toBuilder().table("public.users").build()).forEach(jdbc::execute);
	}

	@BeforeEach
	void emptyTables() {
		jdbc.execute("TRUNCATE users, accounts, customers, members");
	}

	@AfterEach
	void stopControllers() {
		this.controllers.forEach(PhaseController::stop);
	}

	@ParameterizedTest
	@EnumSource(value = Phase.class, names = "ABANDON", mode = EnumSource.Mode.EXCLUDE)
	void sameTableReadsComeFromOldSideUntilBackfillAndFromNewSideFromReadNewOn(Phase phase) {
		UserStore users = users(start(USERS_EMAIL, phase, "a", postgres.dataSource()), postgres.dataSource());
		// a statement that sets both sides keeps both values, so each side holds its own
		jdbc.update("INSERT INTO users (id, name, email, email_address) VALUES (1, 'Ann', 'old@side', 'new@side')");
		String expected = phase.readsNew() ? "new@side" : "old@side";
		assertThat(users.findById(1)).map(User::email).contains(expected);
		assertThat(users.everyone()).extracting(User::email).containsExactly(expected);
	}

	@ParameterizedTest
	@EnumSource(value = Phase.class, names = "ABANDON", mode = EnumSource.Mode.EXCLUDE)
	void sameTableWritesGoToTheSourceOfTruthAndTheTriggerSyncsTheOtherSide(Phase phase) {
		UserStore users = users(start(USERS_EMAIL, phase, "a", postgres.dataSource()), postgres.dataSource());
		users.insert(new User(1, "Ann", "Ann@Example.com"));
		// the source of truth keeps the value as written; the other side is derived
		// through up (lower) or down
		String derivedNew = phase.readsNew() ? "Ann@Example.com" : "ann@example.com";
		assertThat(user(1)).containsEntry("email", "Ann@Example.com").containsEntry("email_address", derivedNew);
		users.updateEmail(1, "Bea@Example.com");
		derivedNew = phase.readsNew() ? "Bea@Example.com" : "bea@example.com";
		assertThat(user(1)).containsEntry("email", "Bea@Example.com").containsEntry("email_address", derivedNew);
		users.insertAll(List.of(new User(2, "Cy", "cy@example.com"), new User(3, "Di", "di@example.com")));
		assertThat(jdbc.queryForObject("SELECT count(*) FROM users WHERE id IN (2, 3) AND email = email_address",
				Integer.class))
			.isEqualTo(2);
		users.deleteById(1);
		assertThat(jdbc.queryForList("SELECT id FROM users ORDER BY id", Long.class)).containsExactly(2L, 3L);
	}

	@ParameterizedTest
	@EnumSource(value = Phase.class, names = "ABANDON", mode = EnumSource.Mode.EXCLUDE)
	void crossTableReadsComeFromOldTableUntilBackfillAndFromNewTableFromReadNewOn(Phase phase) {
		UserStore accounts = accounts(start(ACCOUNTS_CUSTOMERS, phase, "a", postgres.dataSource()),
				postgres.dataSource());
		jdbc.update("INSERT INTO accounts (id, name, email) VALUES (1, 'Ann', 'old@table')");
		jdbc.update("INSERT INTO customers (id, name, email) VALUES (1, 'Ann', 'new@table')");
		assertThat(accounts.findById(1)).map(User::email).contains(phase.readsNew() ? "new@table" : "old@table");
	}

	@ParameterizedTest
	@EnumSource(value = Phase.class, names = "ABANDON", mode = EnumSource.Mode.EXCLUDE)
	void crossTableWritesGoToBothTablesFromDualWriteOn(Phase phase) {
		UserStore accounts = accounts(start(ACCOUNTS_CUSTOMERS, phase, "a", postgres.dataSource()),
				postgres.dataSource());
		accounts.insert(new User(1, "Ann", "ann@example.com"));
		accounts.insert(new User(2, "Bea", "bea@example.com"));
		accounts.updateEmail(1, "ann@example.org");
		accounts.deleteById(2);
		assertThat(rows("accounts")).containsExactly(Map.of("id", 1L, "name", "Ann", "email", "ann@example.org"));
		if (phase == Phase.EXPAND) {
			assertThat(rows("customers")).isEmpty();
		}
		else {
			assertThat(rows("customers")).isEqualTo(rows("accounts"));
		}
	}

	@ParameterizedTest
	@EnumSource(value = Phase.class, names = { "DUAL_WRITE", "READ_NEW" })
	void crossTableWritesTheOldTableFirstAndTellsTheSyncCallApart(Phase phase) {
		PhaseController controller = start(ACCOUNTS_CUSTOMERS, phase, "a", postgres.dataSource());
		List<String> calls = new ArrayList<>();
		UserStore oldSide = new ColumnUserStore(postgres.dataSource(), "accounts", "email") {
			@Override
			public void insert(User user) {
				calls.add(describe(DualWriteCall.current()));
				super.insert(user);
			}
		};
		UserStore newSide = new ColumnUserStore(postgres.dataSource(), "customers", "email") {
			@Override
			public void insert(User user) {
				calls.add(describe(DualWriteCall.current()));
				super.insert(user);
			}
		};
		UserStore accounts = DualWriteRepositoryFactory.create(UserStore.class, ACCOUNTS_CUSTOMERS.id(), oldSide,
				newSide, controller, new DataSourceTransactionManager(postgres.dataSource()),
				new MigrationStateRepository(postgres.dataSource()));
		accounts.insert(new User(1, "Ann", "ann@example.com"));
		assertThat(DualWriteCall.current()).isNull();
		if (phase == Phase.DUAL_WRITE) {
			assertThat(calls).containsExactly("OLD source of truth at dual-write", "NEW sync at dual-write");
		}
		else {
			assertThat(calls).containsExactly("OLD sync at read-new", "NEW source of truth at read-new");
		}
	}

	@Test
	void crossTableDeleteOfASharedRowReportsWhatTheOldSideDeletedAsDualWriteMdShows() {
		PhaseController controller = start(ACCOUNTS_CUSTOMERS, Phase.READ_NEW, "a", postgres.dataSource());
		jdbc.update("INSERT INTO accounts (id, name, email) VALUES (1, 'Ann', 'ann@example.com'), "
				+ "(2, 'Bob', 'bob@example.com')");
		// both shapes map accounts: the old side, written first, deletes the shared row
		JdbcClient client = JdbcClient.create(postgres.dataSource());
		AccountDeletes oldSide = (id) -> client.sql("DELETE FROM accounts WHERE id = ?").param(id).update() == 1;
		AccountDeletes naive = (id) -> client.sql("DELETE FROM accounts WHERE id = ?").param(id).update() == 1;
		// the recipe in docs/dual-write.md
		AccountDeletes recipe = (id) -> {
			boolean deleted = client.sql("DELETE FROM accounts WHERE id = ?").param(id).update() == 1;
			DualWriteCall call = DualWriteCall.current();
			return (call != null && call.otherSideResult() instanceof Boolean old) ? old || deleted : deleted;
		};
		assertThat(routed(controller, oldSide, naive).delete(1)).as("the new side's own count, at read-new").isFalse();
		assertThat(routed(controller, oldSide, recipe).delete(2)).isTrue();
		assertThat(routed(controller, oldSide, recipe).delete(2)).as("no such row").isFalse();
		assertThat(rows("accounts")).isEmpty();
	}

	private static AccountDeletes routed(PhaseController controller, AccountDeletes oldSide, AccountDeletes newSide) {
		return DualWriteRepositoryFactory.create(AccountDeletes.class, ACCOUNTS_CUSTOMERS.id(), oldSide, newSide,
				controller, new DataSourceTransactionManager(postgres.dataSource()),
				new MigrationStateRepository(postgres.dataSource()));
	}

	/**
	 * A routed interface that deletes a row both sides share.
	 */
	public interface AccountDeletes {

		boolean delete(long id);

	}

	@Test
	void failedTriggerSyncRollsBackTheWrite() {
		UserStore users = users(start(USERS_EMAIL, Phase.DUAL_WRITE, "a", postgres.dataSource()),
				postgres.dataSource());
		// the old column accepts it; the new column derived from it breaks the new
		// column's check
		assertThatExceptionOfType(DataIntegrityViolationException.class)
			.isThrownBy(() -> users.insert(new User(1, "Ann", "no-at-sign")));
		assertThat(rows("users")).isEmpty();
	}

	@Test
	void failedRepositorySyncRollsBackTheWrite() {
		UserStore accounts = accounts(start(ACCOUNTS_CUSTOMERS, Phase.DUAL_WRITE, "a", postgres.dataSource()),
				postgres.dataSource());
		assertThatExceptionOfType(DataIntegrityViolationException.class)
			.isThrownBy(() -> accounts.insert(new User(1, "Ann", "no-at-sign")));
		assertThat(rows("accounts")).isEmpty();
		assertThat(rows("customers")).isEmpty();
	}

	@Test
	void failedSyncRollsBackTheApplicationsWholeTransactionEvenIfTheApplicationCarriesOn() {
		UserStore accounts = accounts(start(ACCOUNTS_CUSTOMERS, Phase.DUAL_WRITE, "a", postgres.dataSource()),
				postgres.dataSource());
		TransactionTemplate transaction = new TransactionTemplate(
				new DataSourceTransactionManager(postgres.dataSource()));
		assertThatExceptionOfType(UnexpectedRollbackException.class)
			.isThrownBy(() -> transaction.executeWithoutResult((status) -> {
				accounts.insert(new User(1, "Ann", "ann@example.com"));
				try {
					accounts.insert(new User(2, "Bea", "no-at-sign"));
				}
				catch (DataIntegrityViolationException ex) {
					// the application ignores the failure
				}
			}));
		assertThat(rows("accounts")).isEmpty();
		assertThat(rows("customers")).isEmpty();
	}

	@Test
	void crossTableWriteAtContractCarriesOnOnceTheContractDdlDroppedTheOldTable() {
		jdbc.execute("CREATE TABLE legacy (id bigint PRIMARY KEY, name text, email text)");
		jdbc.execute("CREATE TABLE modern (id bigint PRIMARY KEY, name text, email text)");
		MigrationDefinition migration = MigrationDefinition.builder("legacy-modern").table("legacy").build();
		DataSource dataSource = postgres.dataSource();
		PhaseController controller = start(migration, Phase.CONTRACT, "a", dataSource);
		UserStore store = DualWriteRepositoryFactory.create(UserStore.class, migration.id(),
				new ColumnUserStore(dataSource, "legacy", "email"), new ColumnUserStore(dataSource, "modern", "email"),
				controller, new DataSourceTransactionManager(dataSource), new MigrationStateRepository(dataSource));
		store.insert(new User(1, "Ann", "ann@example.com"));
		assertThat(rows("legacy")).hasSize(1);
		// another instance runs the contract DDL; this one has not heard of it yet
		new MigrationStateRepository(dataSource).markContracted(migration.id(), "other");
		jdbc.execute("DROP TABLE legacy");
		assertThat(controller.status(migration.id()).state().isContracted()).isFalse();
		store.insert(new User(2, "Bea", "bea@example.com"));
		assertThat(jdbc.queryForList("SELECT id FROM modern ORDER BY id", Long.class)).containsExactly(1L, 2L);
	}

	@Test
	void failedOldSideWriteAtContractRollsBackTheWriteWhileNotContracted() {
		UserStore accounts = accounts(start(ACCOUNTS_CUSTOMERS, Phase.CONTRACT, "a", postgres.dataSource()),
				postgres.dataSource());
		jdbc.update("INSERT INTO accounts (id, name, email) VALUES (1, 'Ann', 'ann@example.com')");
		assertThatExceptionOfType(DataIntegrityViolationException.class)
			.isThrownBy(() -> accounts.insert(new User(1, "Ann", "ann@example.com")));
		assertThat(rows("customers")).isEmpty();
	}

	@ParameterizedTest
	@EnumSource(value = Phase.class, names = "ABANDON", mode = EnumSource.Mode.EXCLUDE)
	void applicationSyncedWritesSetBothColumnsInOneStatementFromDualWriteOnWithoutATrigger(Phase phase) {
		DataSource dataSource = postgres.dataSource();
		List<String> bothSidesCalls = new ArrayList<>();
		UserStore members = members(start(MEMBERS_EMAIL, phase, "a", dataSource), dataSource, (call) -> {
			if (call != null) {
				bothSidesCalls.add(describe(call));
			}
		});
		members.insert(new User(1, "Ann", "Ann@Example.com"));
		members.updateEmail(1, "Bea@Example.com");
		members.insertAll(List.of(new User(2, "Cy", "Cy@Example.com"), new User(3, "Di", "Di@Example.com")));
		members.deleteById(2);
		assertThat(jdbc.queryForList("SELECT id FROM members ORDER BY id", Long.class)).containsExactly(1L, 3L);
		if (phase == Phase.EXPAND) {
			// the old side alone, as before the migration; the backfill fills the rest
			assertThat(member(1)).containsEntry("email", "Bea@Example.com").containsEntry("email_address", null);
			assertThat(bothSidesCalls).isEmpty();
		}
		else {
			assertThat(member(1)).containsEntry("email", "Bea@Example.com")
				.containsEntry("email_address", "bea@example.com");
			assertThat(member(3)).containsEntry("email_address", "di@example.com");
			assertThat(bothSidesCalls).hasSize(4).containsOnly("BOTH source of truth at " + phase);
			assertThat(members.findById(1)).map(User::email)
				.contains(phase.readsNew() ? "bea@example.com" : "Bea@Example.com");
		}
		assertThat(jdbc.queryForObject(
				"SELECT count(*) FROM pg_trigger WHERE tgrelid = 'members'::regclass AND NOT tgisinternal",
				Integer.class))
			.as("triggers on members")
			.isZero();
	}

	@Test
	void applicationSyncedWriteAtContractGoesToTheNewSideAloneOnceTheContractDdlDroppedTheOldColumn() {
		jdbc.execute("CREATE TABLE guests (id bigint PRIMARY KEY, name text, email text, email_address text)");
		MigrationDefinition migration = applicationSyncedEmail("guests");
		DataSource dataSource = postgres.dataSource();
		PhaseController controller = start(migration, Phase.CONTRACT, "a", dataSource);
		UserStore store = DualWriteRepositoryFactory.create(UserStore.class, migration.id(),
				new Implementations<>(new ColumnUserStore(dataSource, "guests", "email"),
						new ColumnUserStore(dataSource, "guests", "email_address"),
						new BothColumnsUserStore(dataSource, "guests")),
				controller, new DataSourceTransactionManager(dataSource), new MigrationStateRepository(dataSource),
				DualWriteListener.NONE);
		store.insert(new User(1, "Ann", "Ann@Example.com"));
		assertThat(jdbc.queryForMap("SELECT email, email_address FROM guests WHERE id = 1"))
			.containsEntry("email", "Ann@Example.com")
			.containsEntry("email_address", "ann@example.com");
		// another instance runs the contract DDL; this one has not heard of it yet
		new MigrationStateRepository(dataSource).markContracted(migration.id(), "other");
		jdbc.execute("ALTER TABLE guests DROP COLUMN email");
		assertThat(controller.status(migration.id()).state().isContracted()).isFalse();
		store.insert(new User(2, "Bea", "bea@example.com"));
		store.updateEmail(1, "ann@example.org");
		assertThat(jdbc.queryForList("SELECT id, email_address FROM guests ORDER BY id")).containsExactly(
				Map.of("id", 1L, "email_address", "ann@example.org"),
				Map.of("id", 2L, "email_address", "bea@example.com"));
	}

	@Test
	void aWriteWithoutSavepointsThatReadTheStateJustBeforeAnotherInstanceClaimedTheContractPassesItsGuard() {
		jdbc.execute("CREATE TABLE racers (id bigint PRIMARY KEY, name text, email text, email_address text)");
		jdbc.update("INSERT INTO racers VALUES (1, 'Ann', 'Ann@Example.com', 'ann@example.com')");
		MigrationDefinition migration = applicationSyncedEmail("racers");
		DataSource dataSource = postgres.dataSource();
		PhaseController controller = start(migration, Phase.CONTRACT, "a", dataSource);
		// a transaction without savepoints, as JPA's: the state is read before the write
		DataSourceTransactionManager withoutSavepoints = new DataSourceTransactionManager(dataSource);
		withoutSavepoints.setNestedTransactionAllowed(false);
		// another instance claims the contract and puts the guard on the table after this
		// instance read the migration's state and before it writes
		DataSource other = postgres.newDataSource("b", 2);
		AtomicBoolean claimed = new AtomicBoolean();
		UserStore both = new BothColumnsUserStore(dataSource, "racers");
		UserStore claimedBeforeTheWrite = (UserStore) Proxy.newProxyInstance(UserStore.class.getClassLoader(),
				new Class<?>[] { UserStore.class }, (proxy, method, args) -> {
					if (method.getName().equals("updateEmail") && claimed.compareAndSet(false, true)) {
						assertThat(new MigrationStateRepository(other).markContracted(migration.id(), "b")).isTrue();
						new SameTableSyncTrigger(other)
							.contractStatements(migration.toBuilder().table("public.racers").build())
							.forEach(new JdbcTemplate(other)::execute);
					}
					try {
						return method.invoke(both, args);
					}
					catch (InvocationTargetException ex) {
						throw ex.getCause();
					}
				});
		UserStore store = DualWriteRepositoryFactory.create(UserStore.class, migration.id(),
				new Implementations<>(new ColumnUserStore(dataSource, "racers", "email"),
						new ColumnUserStore(dataSource, "racers", "email_address"), claimedBeforeTheWrite),
				controller, withoutSavepoints, new MigrationStateRepository(dataSource), DualWriteListener.NONE);
		// the request goes through, its new column written in the same statement
		store.updateEmail(1, "Ann@Example.org");
		assertThat(claimed).isTrue();
		assertThat(jdbc.queryForMap("SELECT email, email_address FROM racers WHERE id = 1"))
			.containsEntry("email", "Ann@Example.org")
			.containsEntry("email_address", "ann@example.org");
		// while the guard still refuses a writer outside the application
		assertThatExceptionOfType(DataAccessException.class)
			.isThrownBy(() -> jdbc.update("UPDATE racers SET email = 'late@example.com' WHERE id = 1"))
			.withMessageContaining("zdm: migration racers-email is contracting: column email");
		// and the mark lasts only as long as the transaction that set it
		assertThat(jdbc.queryForObject("SELECT " + MigrationStateRepository.DUAL_WRITE_MARKED, Boolean.class))
			.isNotEqualTo(Boolean.TRUE);
	}

	@Test
	void applicationSyncWithoutAnImplementationOfBothSidesFailsWhenTheRoutingBeanIsCreated() {
		PhaseController controller = start(MEMBERS_EMAIL, Phase.DUAL_WRITE, "a", postgres.dataSource());
		UserStore store = new ColumnUserStore(postgres.dataSource(), "members", "email");
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> DualWriteRepositoryFactory.create(UserStore.class, MEMBERS_EMAIL.id(), store, store,
					controller, new DataSourceTransactionManager(postgres.dataSource()),
					new MigrationStateRepository(postgres.dataSource())))
			.withMessageContaining("routed with sync mode application")
			.withMessageContaining("schema = Schema.BOTH");
	}

	@Test
	void anImplementationOfBothSidesForAMigrationSyncedByTheTriggerFailsWhenTheRoutingBeanIsCreated() {
		PhaseController controller = start(USERS_EMAIL, Phase.DUAL_WRITE, "a", postgres.dataSource());
		UserStore store = new ColumnUserStore(postgres.dataSource(), "users", "email");
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> DualWriteRepositoryFactory.create(UserStore.class, USERS_EMAIL.id(),
					new Implementations<>(store, store, new BothColumnsUserStore(postgres.dataSource(), "users")),
					controller, new DataSourceTransactionManager(postgres.dataSource()),
					new MigrationStateRepository(postgres.dataSource()), DualWriteListener.NONE))
			.withMessageContaining("marked with Schema.BOTH")
			.satisfies((ex) -> assertThat(ex.getAction()).contains("sync=application"));
	}

	@Test
	void phaseIsFixedForTheTransaction() {
		PhaseController controller = start(USERS_EMAIL, Phase.READ_NEW, "a", postgres.dataSource(), false);
		assertThat(controller.effectivePhase(USERS_EMAIL.id())).isEqualTo(Phase.BACKFILL);
		UserStore users = users(controller, postgres.dataSource());
		TransactionTemplate transaction = new TransactionTemplate(
				new DataSourceTransactionManager(postgres.dataSource()));
		transaction.executeWithoutResult((status) -> {
			assertThat(users.findById(1)).isEmpty();
			new MigrationStateRepository(postgres.dataSource()).markVerified(USERS_EMAIL.id(), "test");
			controller.refresh();
			assertThat(controller.status(USERS_EMAIL.id()).effective()).isEqualTo(Phase.READ_NEW);
			users.insert(new User(1, "Ann", "Ann@Example.com"));
		});
		assertThat(user(1)).containsEntry("email", "Ann@Example.com").containsEntry("email_address", "ann@example.com");
		users.insert(new User(2, "Bea", "Bea@Example.com"));
		assertThat(user(2)).containsEntry("email", "Bea@Example.com").containsEntry("email_address", "Bea@Example.com");
	}

	@Test
	void undeclaredMigrationFailsWhenTheRoutingBeanIsCreated() {
		PhaseController controller = start(ACCOUNTS_CUSTOMERS, Phase.DUAL_WRITE, "a", postgres.dataSource());
		UserStore store = new ColumnUserStore(postgres.dataSource(), "accounts", "email");
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> DualWriteRepositoryFactory.create(UserStore.class, "nope", store, store, controller,
					new DataSourceTransactionManager(postgres.dataSource()),
					new MigrationStateRepository(postgres.dataSource())))
			.withMessageContaining("no such migration is declared")
			.withMessageContaining(UserStore.class.getName());
	}

	@Test
	void sameTableMigrationWithoutDownFailsWhenTheRoutingBeanIsCreated() {
		MigrationDefinition upOnly = MigrationDefinition.builder("users-email-up-only")
			.table("users")
			.up("email_address", "lower(email)")
			.build();
		PhaseController controller = start(upOnly, Phase.DUAL_WRITE, "a", postgres.dataSource());
		UserStore store = new ColumnUserStore(postgres.dataSource(), "users", "email");
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> DualWriteRepositoryFactory.create(UserStore.class, upOnly.id(), store, store, controller,
					new DataSourceTransactionManager(postgres.dataSource()),
					new MigrationStateRepository(postgres.dataSource())))
			.withMessageContaining("declares no down expressions");
	}

	// email renamed to email_address, lower-cased, in a table of its own, synced by the
	// application's statements
	private static MigrationDefinition applicationSyncedEmail(String table) {
		return MigrationDefinition.builder(table + "-email")
			.table(table)
			.up("email_address", "lower(email)")
			.down("email", "email_address")
			.sync(SyncMode.APPLICATION)
			.build();
	}

	PhaseController start(MigrationDefinition migration, Phase phase, String instance, DataSource dataSource) {
		return start(migration, phase, instance, dataSource, true);
	}

	PhaseController start(MigrationDefinition migration, Phase phase, String instance, DataSource dataSource,
			boolean verify) {
		PhaseController controller = TestEngine.phaseController(dataSource,
				List.of(migration.toBuilder().requestedPhase(phase).build()),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS, List.of());
		controller.start();
		this.controllers.add(controller);
		if (!verify) {
			new MigrationStateRepository(dataSource).voidVerification(migration.id(), "test");
			controller.refresh();
		}
		else if (phase.readsNew() && migration.hasBackfill()) {
			new MigrationStateRepository(dataSource).markVerified(migration.id(), "test");
			for (int i = 0; i < 3 && controller.effectivePhase(migration.id()) != phase; i++) {
				controller.refresh();
			}
		}
		assertThat(controller.effectivePhase(migration.id())).isEqualTo(verify ? phase : Phase.BACKFILL);
		return controller;
	}

	private static String describe(Optional<DualWriteCall> call) {
		return call.map((c) -> c.schema() + (c.isSync() ? " sync" : " source of truth") + " at " + c.phase())
			.orElse("none");
	}

	private static String describe(DualWriteCall call) {
		return describe(Optional.ofNullable(call));
	}

	private static UserStore members(PhaseController controller, DataSource dataSource,
			Consumer<DualWriteCall> bothSidesCalls) {
		return DualWriteRepositoryFactory.create(UserStore.class, MEMBERS_EMAIL.id(),
				new Implementations<>(new ColumnUserStore(dataSource, "members", "email"),
						new ColumnUserStore(dataSource, "members", "email_address"),
						new BothColumnsUserStore(dataSource, "members") {

							@Override
							public void insert(User user) {
								bothSidesCalls.accept(DualWriteCall.current());
								super.insert(user);
							}

							@Override
							public void updateEmail(long id, String email) {
								bothSidesCalls.accept(DualWriteCall.current());
								super.updateEmail(id, email);
							}

						}),
				controller, new DataSourceTransactionManager(dataSource), new MigrationStateRepository(dataSource),
				DualWriteListener.NONE);
	}

	private static Map<String, Object> member(long id) {
		return jdbc.queryForMap("SELECT email, email_address FROM members WHERE id = ?", id);
	}

	private static Map<String, Object> user(long id) {
		return jdbc.queryForMap("SELECT email, email_address FROM users WHERE id = ?", id);
	}

	private static List<Map<String, Object>> rows(String table) {
		return jdbc.queryForList("SELECT * FROM " + table + " ORDER BY id");
	}

}
