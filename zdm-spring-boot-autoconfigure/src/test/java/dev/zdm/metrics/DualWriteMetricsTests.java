package dev.zdm.metrics;

import java.util.List;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;

import dev.zdm.internal.dualwrite.DualWriteRepositoryFactory;
import dev.zdm.internal.dualwrite.Implementations;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.JdbcClientUsers.ColumnUserStore;
import dev.zdm.testing.JdbcClientUsers.User;
import dev.zdm.testing.JdbcClientUsers.UserStore;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for the {@link DualWriteMetrics} of a routing bean whose migration moves data
 * into another table, synced by calling both implementations.
 */
class DualWriteMetricsTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final MigrationDefinition ACCOUNTS_CUSTOMERS = MigrationDefinition.builder("accounts-customers")
		.table("accounts")
		.requestedPhase(Phase.DUAL_WRITE)
		.build();

	private final MeterRegistry meters = new SimpleMeterRegistry();

	private PhaseController controller;

	@BeforeAll
	static void createTables() {
		postgres.jdbc().execute("CREATE TABLE accounts (id bigint PRIMARY KEY, name text, email text)");
		postgres.jdbc()
			.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text CHECK (email LIKE '%@%'))");
	}

	@AfterEach
	void stop() {
		this.controller.stop();
	}

	@Test
	void callsAreCountedBySideRoleAndOutcomeAndAFailedSyncIsCountedAndRollsBack() {
		this.controller = TestEngine.phaseController(postgres.dataSource(), List.of(ACCOUNTS_CUSTOMERS),
				InstanceInfo.ofThisProcess("metered", "test", "1"), TestFleet.SETTINGS, List.of());
		this.controller.start();
		UserStore accounts = DualWriteRepositoryFactory.create(UserStore.class, ACCOUNTS_CUSTOMERS.id(),
				new Implementations<>(new ColumnUserStore(postgres.dataSource(), "accounts", "email"),
						new ColumnUserStore(postgres.dataSource(), "customers", "email"), null),
				this.controller, new DataSourceTransactionManager(postgres.dataSource()),
				new MigrationStateRepository(postgres.dataSource()), new DualWriteMetrics(this.meters));
		accounts.insert(new User(1, "Ann", "ann@example.com"));
		accounts.insert(new User(2, "Bea", "bea@example.com"));
		accounts.updateEmail(1, "ann@example.org");
		accounts.deleteById(2);
		assertThat(accounts.findById(1)).map(User::email).contains("ann@example.org");
		assertThat(calls("write", "old", "source", "success")).isEqualTo(4);
		assertThat(calls("write", "new", "sync", "success")).isEqualTo(4);
		assertThat(calls("read", "old", "source", "success")).isEqualTo(1);
		assertThat(calls("read", "new", "source", "success")).isZero();
		assertThat(this.meters.get("zdm.dualwrite.sync.duration")
			.tags("migration", "accounts-customers", "side", "new")
			.timer()
			.count()).isEqualTo(4);
		assertThat(syncFailures()).isZero();

		// the new table's check refuses what the old one accepts: the sync fails and the
		// whole write rolls back
		assertThatExceptionOfType(DataIntegrityViolationException.class)
			.isThrownBy(() -> accounts.insert(new User(3, "Cy", "no-at-sign")));
		assertThat(postgres.jdbc().queryForObject("SELECT count(*) FROM accounts WHERE id = 3", Integer.class))
			.isZero();
		assertThat(calls("write", "new", "sync", "failure")).isEqualTo(1);
		assertThat(calls("write", "old", "source", "success")).isEqualTo(5);
		assertThat(syncFailures()).isEqualTo(1);
	}

	// an outside run counted 16 sync failures at a contract where no request failed:
	// writes of the old side that the contract took, made again on the new side alone
	@Test
	void aWriteTheContractTookIsCountedAsContractedNotAsASyncFailure() {
		postgres.jdbc().execute("CREATE TABLE legacy (id bigint PRIMARY KEY, name text, email text)");
		postgres.jdbc().execute("CREATE TABLE modern (id bigint PRIMARY KEY, name text, email text)");
		MigrationDefinition migration = MigrationDefinition.builder("legacy-modern")
			.table("legacy")
			.requestedPhase(Phase.CONTRACT)
			.build();
		this.controller = TestEngine.phaseController(postgres.dataSource(), List.of(migration),
				InstanceInfo.ofThisProcess("metered", "test", "1"), TestFleet.SETTINGS, List.of());
		this.controller.start();
		UserStore store = DualWriteRepositoryFactory.create(UserStore.class, migration.id(),
				new Implementations<>(new ColumnUserStore(postgres.dataSource(), "legacy", "email"),
						new ColumnUserStore(postgres.dataSource(), "modern", "email"), null),
				this.controller, new DataSourceTransactionManager(postgres.dataSource()),
				new MigrationStateRepository(postgres.dataSource()), new DualWriteMetrics(this.meters));
		store.insert(new User(1, "Ann", "ann@example.com"));
		assertThat(calls("legacy-modern", "write", "old", "sync", "success")).isEqualTo(1);
		// another instance runs the contract DDL; this one has not heard of it yet
		new MigrationStateRepository(postgres.dataSource()).markContracted(migration.id(), "other");
		postgres.jdbc().execute("DROP TABLE legacy");
		store.insert(new User(2, "Bea", "bea@example.com"));
		assertThat(postgres.jdbc().queryForList("SELECT id FROM modern ORDER BY id", Long.class)).containsExactly(1L,
				2L);
		assertThat(calls("legacy-modern", "write", "old", "sync", "contracted")).isEqualTo(1);
		assertThat(calls("legacy-modern", "write", "old", "sync", "failure")).isZero();
		assertThat(syncFailures("legacy-modern", "old")).isZero();
		assertThat(calls("legacy-modern", "write", "new", "source", "success")).isEqualTo(2);
	}

	private double calls(String operation, String side, String role, String outcome) {
		return calls("accounts-customers", operation, side, role, outcome);
	}

	private double calls(String migration, String operation, String side, String role, String outcome) {
		return this.meters.find("zdm.dualwrite.calls")
			.tags("migration", migration, "operation", operation, "side", side, "role", role, "outcome", outcome)
			.counters()
			.stream()
			.mapToDouble((counter) -> counter.count())
			.sum();
	}

	private double syncFailures() {
		return syncFailures("accounts-customers", "new");
	}

	private double syncFailures(String migration, String side) {
		return this.meters.find("zdm.dualwrite.sync.failures")
			.tags("migration", migration, "side", side)
			.counters()
			.stream()
			.mapToDouble((counter) -> counter.count())
			.sum();
	}

}
