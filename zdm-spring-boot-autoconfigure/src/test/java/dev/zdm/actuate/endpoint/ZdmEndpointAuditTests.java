package dev.zdm.actuate.endpoint;

import java.security.Principal;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.actuate.audit.AuditEvent;
import org.springframework.boot.actuate.audit.AuditEventRepository;
import org.springframework.boot.actuate.audit.InMemoryAuditEventRepository;
import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.SecurityContext;

import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.backfill.BackfillOverrideRepository;
import dev.zdm.internal.backfill.JdbcBackfillService;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for the audit trail of the {@link ZdmEndpoint}'s write operations against a real
 * PostgreSQL: who (the principal, else anonymous), which instance, when and why, stored,
 * shown in the endpoint, published as an event and added as a Boot audit event.
 */
class ZdmEndpointAuditTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private PhaseController controller;

	@AfterEach
	void stop() {
		if (this.controller != null) {
			this.controller.stop();
		}
	}

	@Test
	void everyWriteOperationIsRecordedWithPrincipalInstanceAndReason() {
		List<Object> events = new CopyOnWriteArrayList<>();
		InMemoryAuditEventRepository audit = new InMemoryAuditEventRepository();
		ZdmEndpoint endpoint = endpoint("audited", "audit-a", events, audit);
		assertThat(endpoint.backfill("audited", "pause", "  the nightly import runs  ", user("alice")).state())
			.isEqualTo(BackfillState.PAUSED);
		endpoint.backfill("audited", "resume", null, SecurityContext.NONE);
		assertThatExceptionOfType(InvalidEndpointRequestException.class)
			.isThrownBy(() -> endpoint.backfill("audited", "stop", "typo", user("bob")));
		List<OperatorAction> actions = endpoint.migration("audited").actions();
		assertThat(actions).extracting(OperatorAction::action).containsExactly("backfill.resume", "backfill.pause");
		OperatorAction pause = actions.get(1);
		assertThat(pause.principal()).isEqualTo("alice");
		assertThat(pause.instanceId()).isEqualTo("audit-a");
		assertThat(pause.reason()).isEqualTo("the nightly import runs");
		assertThat(pause.actedAt()).isNotNull();
		OperatorAction resume = actions.get(0);
		assertThat(resume.principal()).isEqualTo("anonymous");
		assertThat(resume.reason()).isNull();
		assertThat(postgres.jdbc()
			.queryForList("SELECT principal || ' ' || action FROM zdm_operator_action WHERE migration_id = 'audited' "
					+ "ORDER BY action_id", String.class))
			.containsExactly("alice backfill.pause", "anonymous backfill.resume");
		assertThat(events).hasSize(2).allMatch(ZdmOperatorActionEvent.class::isInstance);
		ZdmOperatorActionEvent event = (ZdmOperatorActionEvent) events.get(0);
		assertThat(event.getMigrationId()).isEqualTo("audited");
		assertThat(event.getAction()).isEqualTo(pause);
		List<AuditEvent> audited = audit.find("alice", null, ZdmOperatorActionEvent.AUDIT_EVENT_TYPE);
		assertThat(audited).singleElement().satisfies((auditEvent) -> {
			assertThat(auditEvent.getData()).containsEntry("migration", "audited")
				.containsEntry("action", "backfill.pause")
				.containsEntry("instance", "audit-a")
				.containsEntry("reason", "the nightly import runs");
		});
		assertThat(audit.find(null, null, null)).hasSize(2);
	}

	// the action is done once the database took it: a record that fails after it (the
	// database gone in between) must not answer the operator that it was not
	@Test
	void anActionDoneWhoseRecordFailsIsAnsweredAsDoneAndKeptInTheAuditEvents() {
		List<Object> events = new CopyOnWriteArrayList<>();
		InMemoryAuditEventRepository audit = new InMemoryAuditEventRepository();
		ZdmEndpoint endpoint = endpoint("unrecorded", "unrecorded-a", events, audit);
		postgres.jdbc().execute("ALTER TABLE zdm_operator_action RENAME TO zdm_operator_action_away");
		try {
			assertThat(endpoint.backfill("unrecorded", "pause", "the import", user("alice")).state())
				.isEqualTo(BackfillState.PAUSED);
		}
		finally {
			postgres.jdbc().execute("ALTER TABLE zdm_operator_action_away RENAME TO zdm_operator_action");
		}
		assertThat(postgres.jdbc()
			.queryForObject("SELECT paused FROM zdm_backfill WHERE migration_id = 'unrecorded'", Boolean.class))
			.isTrue();
		assertThat(endpoint.migration("unrecorded").actions()).isEmpty();
		assertThat(events).singleElement()
			.satisfies((event) -> assertThat(((ZdmOperatorActionEvent) event).getAction().action())
				.isEqualTo("backfill.pause"));
		assertThat(audit.find("alice", null, ZdmOperatorActionEvent.AUDIT_EVENT_TYPE)).singleElement()
			.satisfies((auditEvent) -> assertThat(auditEvent.getData()).containsEntry("reason", "the import"));
	}

	@Test
	void actionsOnTheBackfillOfAContractedMigrationAreRefusedAndNotRecorded() {
		List<Object> events = new CopyOnWriteArrayList<>();
		ZdmEndpoint endpoint = endpoint("finished", "finished-a", events, null);
		new MigrationStateRepository(postgres.dataSource()).markContracted("finished", "finished-a");
		this.controller.refresh();
		for (String action : List.of("pause", "resume", "verify")) {
			assertThatExceptionOfType(InvalidEndpointRequestException.class)
				.isThrownBy(() -> endpoint.backfill("finished", action, "late", user("alice")))
				.withMessageContaining(
						"Migration 'finished' is contracted: its backfill is over, so there is nothing to " + action);
		}
		assertThatExceptionOfType(InvalidEndpointRequestException.class)
			.isThrownBy(() -> endpoint.tuning("finished", "backfill", "tuning", "set", null, null, "3000", null, null,
					null, null, null, null, null, null, null, "late", user("alice")))
			.withMessageContaining("is contracted: its backfill is over, so there is nothing to tune");
		assertThat(endpoint.migration("finished").actions()).isEmpty();
		assertThat(events).isEmpty();
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM zdm_backfill_override WHERE migration_id = 'finished'", Long.class))
			.isZero();
	}

	// a table of the migration's name, an instance at expand on a pool of its own, and
	// the endpoint over it
	@Test
	void actionsOnTheBackfillOfAMigrationWithoutOneAreRefusedAndChangeNothing() {
		List<Object> events = new CopyOnWriteArrayList<>();
		ZdmEndpoint endpoint = endpoint(
				MigrationDefinition.builder("renamed").table("renamed").key("id").requestedPhase(Phase.EXPAND).build(),
				"renamed-a", events, null);
		for (String action : List.of("pause", "resume", "verify")) {
			assertThatExceptionOfType(InvalidEndpointRequestException.class)
				.isThrownBy(() -> endpoint.backfill("renamed", action, null, user("alice")))
				.withMessageContaining(
						"Migration 'renamed' has no backfill (it declares no up expression), so there is "
								+ "nothing to " + action);
		}
		assertThatExceptionOfType(InvalidEndpointRequestException.class)
			.isThrownBy(() -> endpoint.tuning("renamed", "backfill", "tuning", "set", null, null, "3000", null, null,
					null, null, null, null, null, null, null, null, user("alice")))
			.withMessageContaining("has no backfill (it declares no up expression), so there is nothing to tune");
		assertThat(endpoint.migration("renamed").actions()).isEmpty();
		assertThat(events).isEmpty();
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM zdm_backfill WHERE migration_id = 'renamed'", Long.class)).isZero();
	}

	private ZdmEndpoint endpoint(String migration, String instance, List<Object> events,
			@Nullable AuditEventRepository audit) {
		return endpoint(BackfillFixtures.migration(migration, migration, Phase.EXPAND,
				BackfillFixtures.settings(100, 100, 100, Duration.ZERO)), instance, events, audit);
	}

	private ZdmEndpoint endpoint(MigrationDefinition migration, String instance, List<Object> events,
			@Nullable AuditEventRepository audit) {
		postgres.jdbc()
			.execute("CREATE TABLE " + migration.id() + " (id bigint PRIMARY KEY, email text, email_address text)");
		DataSource dataSource = postgres.newDataSource(instance, 4);
		this.controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS, List.of());
		this.controller.start();
		return new ZdmEndpoint(this.controller, new LockFiguresSampler(new LockInspector(dataSource)),
				new JdbcBackfillService(dataSource), new DdlHistoryRepository(dataSource), null, null, null, null,
				new BackfillOverrideRepository(dataSource), new OperatorActionRepository(dataSource), events::add,
				audit);
	}

	private static SecurityContext user(String name) {
		return new SecurityContext() {

			@Override
			public Principal getPrincipal() {
				return () -> name;
			}

			@Override
			public boolean isUserInRole(String role) {
				return false;
			}

		};
	}

}
