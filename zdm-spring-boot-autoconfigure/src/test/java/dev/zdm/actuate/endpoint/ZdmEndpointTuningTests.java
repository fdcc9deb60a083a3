package dev.zdm.actuate.endpoint;

import java.lang.reflect.Method;
import java.security.Principal;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.actuate.audit.AuditEvent;
import org.springframework.boot.actuate.audit.InMemoryAuditEventRepository;
import org.springframework.boot.actuate.endpoint.EndpointId;
import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.InvocationContext;
import org.springframework.boot.actuate.endpoint.OperationType;
import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.invoke.OperationInvoker;
import org.springframework.boot.actuate.endpoint.invoke.convert.ConversionServiceParameterValueMapper;
import org.springframework.boot.actuate.endpoint.invoke.reflect.OperationMethod;
import org.springframework.boot.actuate.endpoint.invoke.reflect.ReflectiveOperationInvoker;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.util.ReflectionUtils;
import org.springframework.util.unit.DataSize;

import dev.zdm.actuate.endpoint.BackfillTuning.TuningDescriptor;
import dev.zdm.actuate.endpoint.MigrationDescriptor.PacingDescriptor;
import dev.zdm.internal.backfill.BackfillOverrideRepository;
import dev.zdm.internal.backfill.BackfillOverrides;
import dev.zdm.internal.backfill.JdbcBackfillService;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.entry;

/**
 * Tests for the live tuning operations of the {@link ZdmEndpoint} against a real
 * PostgreSQL: values read as the properties are, refused with a message and nothing
 * changed when malformed or out of range, audited with principal and reason, and shown
 * with the declared values.
 */
class ZdmEndpointTuningTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private PhaseController controller;

	private ZdmEndpoint endpoint;

	private String migrationId;

	private final List<Object> events = new CopyOnWriteArrayList<>();

	private final InMemoryAuditEventRepository audit = new InMemoryAuditEventRepository();

	@AfterEach
	void stop() {
		if (this.controller != null) {
			this.controller.stop();
		}
	}

	@Test
	void settingsChangedLiveAreStoredShownAndAuditedWithPrincipalAndReason() {
		start("tuned_a");
		TuningDescriptor tuning = set("maxBatchSize", "2000", "pause", "500ms", "maxLatencyIncrease", "35%",
				"maxTransactionAge", "PT2M", "reason", "  the copy is too slow  ", "user", "alice");
		assertThat(tuning.overrides()).containsExactly(entry("maxBatchSize", 2000), entry("pause", "500ms"),
				entry("maxLatencyIncrease", "35%"), entry("maxTransactionAge", "120s"));
		assertThat(tuning.declared()).containsEntry("maxBatchSize", 1000)
			.containsEntry("pause", "0ms")
			.containsEntry("maxLatencyIncrease", "20%");
		assertThat(tuning.setBy()).isEqualTo("alice");
		assertThat(tuning.setOn()).isEqualTo("tune-a");
		assertThat(tuning.reason()).isEqualTo("the copy is too slow");
		assertThat(tuning.setAt()).isNotNull();
		// a later change keeps what the first set, and a plain number of a duration is
		// in milliseconds, as in the properties
		tuning = set("minBatchSize", 50, "targetBatchDuration", 300, "user", "bob");
		assertThat(tuning.overrides()).containsEntry("maxBatchSize", 2000)
			.containsEntry("minBatchSize", 50)
			.containsEntry("targetBatchDuration", "300ms");
		assertThat(tuning.setBy()).isEqualTo("bob");
		assertThat(tuning.reason()).isNull();
		MigrationDescriptor shown = this.endpoint.migration("tuned_a");
		assertThat(shown.tuning()).isEqualTo(tuning);
		assertThat(shown.pacing().maxLatencyIncrease()).as("the budget in force").isEqualTo("35%");
		assertThat(this.endpoint.migrations().migrations().get("tuned_a").tuning()).isEqualTo(tuning);
		TuningDescriptor cleared = this.endpoint.tuning("tuned_a", "backfill", "tuning", "clear", null, null, null,
				null, null, null, null, null, null, null, null, null, "back to the declaration", user("carol"));
		assertThat(cleared.overrides()).isEmpty();
		assertThat(cleared.setBy()).isEqualTo("carol");
		List<OperatorAction> actions = this.endpoint.migration("tuned_a").actions();
		assertThat(actions).extracting((action) -> action.principal() + " " + action.action())
			.containsExactly("carol backfill.tuning.clear", "bob backfill.tuning", "alice backfill.tuning");
		assertThat(actions.get(2).reason()).isEqualTo("the copy is too slow");
		assertThat(actions.get(2).instanceId()).isEqualTo("tune-a");
		assertThat(this.events).hasSize(3).allMatch(ZdmOperatorActionEvent.class::isInstance);
		List<AuditEvent> audited = this.audit.find("alice", null, ZdmOperatorActionEvent.AUDIT_EVENT_TYPE);
		assertThat(audited).singleElement()
			.satisfies((event) -> assertThat(event.getData()).containsEntry("action", "backfill.tuning")
				.containsEntry("reason", "the copy is too slow"));
	}

	@Test
	void walCeilingsChangedLiveAreStoredReadByAnotherInstanceShownInThePacingAndCleared() {
		start("tuned_c");
		BackfillSettings declared = this.controller.migration("tuned_c").backfill();
		TuningDescriptor tuning = set("maxWalArchiveBacklog", 8, "maxWalRate", " 64MB ", "reason", "archiver behind",
				"user", "alice");
		assertThat(tuning.overrides()).containsExactly(entry("maxWalArchiveBacklog", 8L), entry("maxWalRate", "64MB"));
		assertThat(tuning.declared()).containsEntry("maxWalArchiveBacklog", 32L).containsEntry("maxWalRate", "0B");
		// another instance, on connections of its own, reads them and runs with them
		BackfillOverrideRepository other = new BackfillOverrideRepository(postgres.newDataSource("tune-other", 1));
		BackfillSettings merged = other.find("tuned_c").overrides().applyTo(declared);
		assertThat(merged.maxWalArchiveBacklog()).isEqualTo(8);
		assertThat(merged.maxWalRate()).isEqualTo(DataSize.ofMegabytes(64).toBytes());
		PacingDescriptor pacing = this.endpoint.migration("tuned_c").pacing();
		assertThat(pacing.maxWalArchiveBacklog()).isEqualTo(8);
		assertThat(pacing.maxWalRate()).isEqualTo("64MB/s");
		// a plain number is bytes, as in the property, and a later change keeps the other
		// ceiling
		tuning = set("maxWalRate", 1_572_864, "user", "bob");
		assertThat(tuning.overrides()).containsExactly(entry("maxWalArchiveBacklog", 8L),
				entry("maxWalRate", "1536KB"));
		assertThat(other.find("tuned_c").overrides().applyTo(declared).maxWalRate()).isEqualTo(1_572_864);
		// 0 turns each off, overriding the declared backlog of 32
		tuning = set("maxWalArchiveBacklog", 0, "maxWalRate", 0, "user", "bob");
		assertThat(tuning.overrides()).containsExactly(entry("maxWalArchiveBacklog", 0L), entry("maxWalRate", "0B"));
		assertThat(other.find("tuned_c").overrides().applyTo(declared).maxWalArchiveBacklog()).isZero();
		pacing = this.endpoint.migration("tuned_c").pacing();
		assertThat(pacing.maxWalArchiveBacklog()).as("the archive check off").isNull();
		assertThat(pacing.maxWalRate()).as("no WAL rate ceiling").isNull();
		// cleared: the declared ceilings apply again, on every instance
		TuningDescriptor cleared = this.endpoint.tuning("tuned_c", "backfill", "tuning", "clear", null, null, null,
				null, null, null, null, null, null, null, null, null, "archiver caught up", user("carol"));
		assertThat(cleared.overrides()).isEmpty();
		assertThat(other.find("tuned_c").overrides().isEmpty()).isTrue();
		assertThat(other.find("tuned_c").overrides().applyTo(declared)).isEqualTo(declared);
		pacing = this.endpoint.migration("tuned_c").pacing();
		assertThat(pacing.maxWalArchiveBacklog()).isEqualTo(32);
		assertThat(pacing.maxWalRate()).isNull();
	}

	@Test
	void malformedOrOutOfRangeSettingsAreRefusedWithAMessageAndChangeNothing() {
		start("tuned_b");
		set("maxBatchSize", "2000", "user", "alice");
		assertRefused("maxBatchSize is 'lots', which is not a whole number such as 2000", "maxBatchSize", "lots");
		assertRefused("pause is 'soon', which is not a duration such as \"500ms\", \"2s\" or \"PT0.5S\"", "pause",
				"soon", "maxBatchSize", "3000");
		assertRefused("Backfill settings of migration 'tuned_b' not changed: pause is -5s, which is out of range: "
				+ "set it to a duration of 0 or more, for example 0s or 500ms", "pause", "-5s");
		assertRefused("minBatchSize is 0, which is out of range: set it to 1 or more", "minBatchSize", "0");
		assertRefused("maxLatencyIncrease is 'fast', which is not a percentage such as \"20%\"", "maxLatencyIncrease",
				"fast");
		assertRefused("maxLatencyIncrease is 2000%, which is out of range", "maxLatencyIncrease", "2000%");
		assertRefused("maxLatencyIncrease is '1e400%', which is not a percentage such as \"20%\"", "maxLatencyIncrease",
				"1e400%");
		assertRefused("maxBatchSize is '99999999999999999999', which is too large a number: send at most 2147483647",
				"maxBatchSize", "99999999999999999999");
		assertRefused("maxRowsPerSecond is '99999999999999999999', which is too large a number: send at most "
				+ Long.MAX_VALUE, "maxRowsPerSecond", "99999999999999999999");
		assertRefused("a number without % is a fraction: 0.2 is 20%", "maxLatencyIncrease", "150");
		assertRefused("maxWalRate is 'fast', which is not a size of WAL per second such as \"64MB\", or 0 for no "
				+ "ceiling", "maxWalRate", "fast", "maxWalArchiveBacklog", "8");
		assertRefused("maxWalRate is '64MB/s', which is not a size", "maxWalRate", "64MB/s");
		assertRefused(
				"Backfill settings of migration 'tuned_b' not changed: maxWalRate is -1MB, which is out of range: "
						+ "set it to 0 (no ceiling) or a size of WAL per second, for example \"64MB\"",
				"maxWalRate", "-1MB");
		assertRefused("maxWalArchiveBacklog is 'many', which is not a whole number", "maxWalArchiveBacklog", "many");
		assertRefused(
				"maxWalArchiveBacklog is -1, which is out of range: set it to 0 (never hold back for the "
						+ "archiver) or a number of WAL segments, for example 32",
				"maxWalArchiveBacklog", "-1", "maxWalRate", "64MB");
		// within range alone, but below the declared minimum of 100 rows
		assertRefused("the batch sizes would be min 100 and max 50 (minBatchSize declared, maxBatchSize overridden)",
				"maxBatchSize", "50");
		assertRefused("Send at least one setting to change", "reason", "nothing");
		// every refusal says nothing changed
		assertRefused("maxWalArchiveBacklog is 'many', which is not a whole number such as 2000; nothing was changed",
				"maxWalArchiveBacklog", "many");
		// longer than a day: refused before PostgreSQL could fail to store it
		assertRefused("pause is 8640000000s, which is out of range: set it to at most 1d", "pause", "100000d");
		assertRefused("maxTransactionAge is 25920000000000s, which is out of range: set it to at most 1d",
				"maxTransactionAge", "300000000d");
		// a batch as long as the statement timeout (5s here) would be cancelled,
		// holding its rows' locks until then
		assertRefused("targetBatchDuration is 30s, which is out of range: set it to less than the batches' "
				+ "statement-timeout (5s)", "targetBatchDuration", "30s");
		assertRefused("The reason is 1001 characters long: keep it to at most 1000", "maxBatchSize", "3000", "reason",
				"x".repeat(1001));
		// PostgreSQL's text cannot hold a NUL: refused before anything is changed, the
		// pause too (it was stored, then its record failed)
		assertRefused("The reason holds a NUL character", "maxBatchSize", "3000", "reason", "night\u0000job");
		assertThatExceptionOfType(InvalidEndpointRequestException.class)
			.isThrownBy(() -> this.endpoint.backfill("tuned_b", "pause", "night\u0000job", SecurityContext.NONE))
			.withMessageContaining("The reason holds a NUL character");
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM zdm_backfill WHERE migration_id = 'tuned_b' AND paused", Long.class))
			.isZero();
		assertThatExceptionOfType(InvalidEndpointRequestException.class)
			.isThrownBy(() -> this.endpoint.tuning("tuned_b", "backfill", "tuning", "reset", null, null, null, null,
					null, null, null, null, null, null, null, null, null, SecurityContext.NONE))
			.withMessageContaining("use POST /actuator/zdm/tuned_b/backfill/tuning/set");
		// a clear takes no settings: it would answer 200 and drop the one sent
		assertThatExceptionOfType(InvalidEndpointRequestException.class)
			.isThrownBy(() -> this.endpoint.tuning("tuned_b", "backfill", "tuning", "clear", null, null, "5", null,
					null, null, null, null, null, null, null, null, null, SecurityContext.NONE))
			.withMessageContaining("backfill/tuning/clear takes no settings")
			.withMessageContaining("nothing was changed");
		assertThatExceptionOfType(InvalidEndpointRequestException.class)
			.isThrownBy(() -> this.endpoint.tuning("orders", "backfill", "tuning", "set", null, null, "10", null, null,
					null, null, null, null, null, null, null, null, SecurityContext.NONE))
			.withMessageContaining("No migration 'orders' is declared");
		TuningDescriptor unchanged = this.endpoint.migration("tuned_b").tuning();
		assertThat(unchanged.overrides()).containsExactly(entry("maxBatchSize", 2000));
		assertThat(unchanged.setBy()).isEqualTo("alice");
		assertThat(this.endpoint.migration("tuned_b").actions()).hasSize(1);
		assertThat(this.events).hasSize(1);
	}

	@Test
	void emptyOrNullSettingsAreRefusedNamingTheSettingAndChangeNothing() {
		start("tuned_e");
		set("maxBatchSize", "2000", "user", "alice");
		String clear = "to go back to the declared settings, POST /actuator/zdm/tuned_e/backfill/tuning/clear "
				+ "(it clears every override); nothing was changed";
		assertRefused(
				"maxRowsPerSecond is empty: send a whole number such as 2000, or 0 for no ceiling, or leave it "
						+ "out to keep its value. An empty or null value does not drop an override: " + clear,
				"maxRowsPerSecond", "");
		assertRefused("pause is empty: send a duration such as \"500ms\"", "pause", "  ", "maxBatchSize", "3000");
		assertRefused("maxLatencyIncrease is empty: send a percentage such as \"20%\"", "maxLatencyIncrease", "");
		assertRefused("maxWalRate is empty: send a size of WAL per second", "maxWalRate", "");
		// a JSON null, as the web layer binds a body: an argument present without a value
		Map<String, Object> nullCeiling = new HashMap<>();
		nullCeiling.put("maxRowsPerSecond", null);
		assertRefusedOverHttp(nullCeiling, "maxRowsPerSecond is null: send a whole number such as 2000, or 0 for no "
				+ "ceiling, or leave it out to keep its value. An empty or null value does not drop an override: "
				+ clear);
		Map<String, Object> nullPause = new HashMap<>();
		nullPause.put("pause", null);
		nullPause.put("maxBatchSize", "3000");
		assertRefusedOverHttp(nullPause, "pause is null: send a duration such as");
		// a null reason is no reason, as before
		Map<String, Object> nullReason = new HashMap<>();
		nullReason.put("maxBatchSize", "1500");
		nullReason.put("reason", null);
		assertThat(web(nullReason)).isInstanceOfSatisfying(WebEndpointResponse.class,
				(response) -> assertThat(response.getStatus()).isEqualTo(200));
		TuningDescriptor tuning = this.endpoint.migration("tuned_e").tuning();
		assertThat(tuning.overrides()).containsExactly(entry("maxBatchSize", 1500));
		assertThat(this.endpoint.migration("tuned_e").actions()).hasSize(2);
		assertThat(this.events).hasSize(2);
	}

	@Test
	void twoChangesSentAtOnceAreCheckedOneAfterTheOtherEachAgainstWhatTheOtherStored() throws Exception {
		start("tuned_d");
		// as two instances' endpoints: two sessions, each checking what the change would
		// make before it writes it, slowly
		BackfillOverrideRepository repository = new BackfillOverrideRepository(postgres.dataSource());
		AtomicInteger checking = new AtomicInteger();
		AtomicInteger mostAtOnce = new AtomicInteger();
		List<BackfillOverrides> checked = new CopyOnWriteArrayList<>();
		CountDownLatch firstChecking = new CountDownLatch(1);
		Consumer<BackfillOverrides> slowCheck = (overrides) -> {
			mostAtOnce.accumulateAndGet(checking.incrementAndGet(), Math::max);
			checked.add(overrides);
			firstChecking.countDown();
			try {
				Thread.sleep(300);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
			checking.decrementAndGet();
		};
		OperatorAction action = new OperatorAction(BackfillOverrides.CHANGE_ACTION, "alice", "tune-a", null,
				Instant.now());
		ExecutorService senders = Executors.newFixedThreadPool(2);
		try {
			Future<?> raiseMin = senders.submit(() -> repository.change("tuned_d",
					new BackfillOverrides(null, 5000, null, null, null, null, null, null, null, null, null, null),
					action, slowCheck));
			firstChecking.await();
			Future<?> lowerMax = senders.submit(() -> repository.change("tuned_d",
					new BackfillOverrides(null, null, 1000, null, null, null, null, null, null, null, null, null),
					action, slowCheck));
			raiseMin.get();
			lowerMax.get();
		}
		finally {
			senders.shutdownNow();
		}
		assertThat(mostAtOnce).as("checks at once").hasValue(1);
		// the second change was checked against the first's stored minimum, which the
		// endpoint's check (BackfillTuning) refuses together with a maximum of 1000
		assertThat(checked).hasSize(2);
		assertThat(checked.get(1).minBatchSize()).isEqualTo(5000);
		assertThat(checked.get(1).maxBatchSize()).isEqualTo(1000);
		assertThatExceptionOfType(InvalidEndpointRequestException.class)
			.isThrownBy(() -> set("maxRowsPerSecond", "200", "user", "mallory"))
			.withMessageContaining("set it to at least minBatchSize (5000)");
	}

	private void assertRefused(String message, Object... values) {
		assertThatExceptionOfType(InvalidEndpointRequestException.class)
			.isThrownBy(() -> set(append(values, "user", "mallory")))
			.withMessageContaining(message);
	}

	private void assertRefusedOverHttp(Map<String, Object> body, String message) {
		TuningDescriptor before = this.endpoint.migration(this.migrationId).tuning();
		assertThat(web(body)).isInstanceOfSatisfying(WebEndpointResponse.class, (response) -> {
			assertThat(response.getStatus()).isEqualTo(400);
			assertThat(response.getBody()).asString().contains(message);
		});
		TuningDescriptor after = this.endpoint.migration(this.migrationId).tuning();
		assertThat(after.overrides()).isEqualTo(before.overrides());
		assertThat(after.setAt()).isEqualTo(before.setAt());
	}

	/**
	 * Call the set operation as Spring Boot's web layer does: the JSON body's names and
	 * values (a {@code null} kept as an argument without a value) with the path's
	 * selectors, through the endpoint's web extension and the request check that advises
	 * its operations.
	 */
	private Object web(Map<String, Object> body) {
		Method method = ReflectionUtils.findMethod(ZdmEndpointWebExtension.class, "tuning", (Class<?>[]) null);
		OperationMethod operation = new OperationMethod(method, OperationType.WRITE);
		OperationInvoker invoker = new ZdmEndpointRequestCheck().apply(EndpointId.of("zdm"), OperationType.WRITE,
				operation.getParameters(), new ReflectiveOperationInvoker(new ZdmEndpointWebExtension(this.endpoint),
						operation, new ConversionServiceParameterValueMapper()));
		Map<String, Object> arguments = new HashMap<>(body);
		arguments.put("id", this.migrationId);
		arguments.put("step", "backfill");
		arguments.put("setting", "tuning");
		arguments.put("action", "set");
		return invoker.invoke(new InvocationContext(SecurityContext.NONE, arguments));
	}

	private static Object[] append(Object[] values, Object... more) {
		Object[] all = new Object[values.length + more.length];
		System.arraycopy(values, 0, all, 0, values.length);
		System.arraycopy(more, 0, all, values.length, more.length);
		return all;
	}

	/**
	 * Call the set operation as the web layer does, with the values of a JSON body (each
	 * converted to text) by name, and who asks.
	 */
	private TuningDescriptor set(Object... namesAndValues) {
		Map<String, String> body = new HashMap<>();
		for (int i = 0; i < namesAndValues.length; i += 2) {
			body.put((String) namesAndValues[i], String.valueOf(namesAndValues[i + 1]));
		}
		return this.endpoint.tuning(this.migrationId, "backfill", "tuning", "set", body.get("initialBatchSize"),
				body.get("minBatchSize"), body.get("maxBatchSize"), body.get("targetBatchDuration"), body.get("pause"),
				body.get("maxRowsPerSecond"), body.get("maxLatencyIncrease"), body.get("maxLockWaiters"),
				body.get("maxTransactionAge"), body.get("maxReplicationLag"), body.get("maxWalArchiveBacklog"),
				body.get("maxWalRate"), body.get("reason"),
				(body.get("user") != null) ? user(body.get("user")) : SecurityContext.NONE);
	}

	private void start(String id) {
		this.migrationId = id;
		postgres.jdbc().execute("CREATE TABLE " + id + " (id bigint PRIMARY KEY, email text, email_address text)");
		DataSource dataSource = postgres.newDataSource("tune-" + id, 4);
		this.controller = TestEngine.phaseController(dataSource,
				List.of(BackfillFixtures.migration(id, id, Phase.EXPAND,
						BackfillFixtures.settings(1000, 100, 1000, Duration.ZERO))),
				InstanceInfo.ofThisProcess("tune-a", "test", "1"), TestFleet.SETTINGS, List.of());
		this.controller.start();
		this.endpoint = new ZdmEndpoint(this.controller, new LockFiguresSampler(new LockInspector(dataSource)),
				new JdbcBackfillService(dataSource), new DdlHistoryRepository(dataSource), null, null, null, null,
				new BackfillOverrideRepository(dataSource), new OperatorActionRepository(dataSource), this.events::add,
				this.audit);
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
