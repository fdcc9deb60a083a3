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

	private double calls(String operation, String side, String role, String outcome) {
		return this.meters.find("zdm.dualwrite.calls")
			.tags("migration", "accounts-customers", "operation", operation, "side", side, "role", role, "outcome",
					outcome)
			.counters()
			.stream()
			.mapToDouble((counter) -> counter.count())
			.sum();
	}

	private double syncFailures() {
		return this.meters.find("zdm.dualwrite.sync.failures")
			.tags("migration", "accounts-customers", "side", "new")
			.counters()
			.stream()
			.mapToDouble((counter) -> counter.count())
			.sum();
	}

}
