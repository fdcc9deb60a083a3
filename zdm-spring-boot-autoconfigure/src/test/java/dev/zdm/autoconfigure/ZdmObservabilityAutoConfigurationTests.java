package dev.zdm.autoconfigure;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.metrics.DataSourcePoolMetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.actuate.endpoint.MigrationDescriptor;
import dev.zdm.actuate.endpoint.ZdmEndpoint;
import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.autoconfigure.ZdmEndpointAutoConfiguration;
import dev.zdm.autoconfigure.ZdmHealthContributorAutoConfiguration;
import dev.zdm.autoconfigure.ZdmMetricsAutoConfiguration;
import dev.zdm.autoconfigure.ZdmObservationAutoConfiguration;
import dev.zdm.health.ZdmHealthIndicator;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.metrics.MicrometerApplicationLatency;
import dev.zdm.metrics.ZdmMetrics;
import dev.zdm.observation.DdlObservations;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for the endpoint, health and metrics auto-configurations and what they show.
 */
class ZdmObservabilityAutoConfigurationTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, MetricsAutoConfiguration.class,
				ZdmAutoConfiguration.class, ZdmEndpointAutoConfiguration.class,
				ZdmHealthContributorAutoConfiguration.class, ZdmMetricsAutoConfiguration.class))
		.withBean(MeterRegistry.class, SimpleMeterRegistry::new)
		.withPropertyValues(postgres.springProperties())
		.withPropertyValues("management.endpoints.web.exposure.include=zdm", "zdm.instance-id=observed",
				"zdm.fleet.heartbeat-interval=1h", "zdm.fleet.timeout=2h",
				"zdm.migrations.accounts-name.table=accounts", "zdm.migrations.accounts-name.phase=read-new",
				"zdm.migrations.accounts-name.up.display_name=initcap(name)",
				"zdm.migrations.accounts-name.backfill.enabled=false");

	@BeforeAll
	static void createTable() {
		postgres.jdbc().execute("CREATE TABLE accounts (id bigint PRIMARY KEY, name text, display_name text)");
	}

	@Test
	void endpointShowsTheBackfillsBudgetAndTheQueue() {
		this.contextRunner
			.withPropertyValues("zdm.migrations.accounts-name.backfill.max-latency-increase=35%",
					"zdm.migrations.accounts-name.backfill.max-rows-per-second=5000")
			.run((context) -> {
				assertThat(context).hasSingleBean(MicrometerApplicationLatency.class);
				ZdmEndpoint endpoint = context.getBean(ZdmEndpoint.class);
				MigrationDescriptor migration = endpoint.migrations().migrations().get("accounts-name");
				assertThat(migration.pacing().maxLatencyIncrease()).isEqualTo("35%");
				assertThat(migration.pacing().maxRowsPerSecond()).isEqualTo(5000);
				assertThat(migration.pacing().heldBackBy()).isNull();
				assertThat(migration.pacing().queued()).isFalse();
				assertThat(migration.pacing().maxWalArchiveBacklog()).isEqualTo(32);
				assertThat(migration.pacing().maxWalRate()).as("no ceiling by default").isNull();
				assertThat(endpoint.migrations().backfillQueue()).isEmpty();
			});
	}

	@Test
	void endpointShowsTheWalCeilings() {
		this.contextRunner
			.withPropertyValues("zdm.migrations.accounts-name.backfill.max-wal-rate=64MB",
					"zdm.migrations.accounts-name.backfill.max-wal-archive-backlog=0")
			.run((context) -> {
				MigrationDescriptor migration = context.getBean(ZdmEndpoint.class)
					.migrations()
					.migrations()
					.get("accounts-name");
				assertThat(migration.pacing().maxWalRate()).isEqualTo("64MB/s");
				assertThat(migration.pacing().maxWalArchiveBacklog()).as("0 turns it off").isNull();
			});
	}

	@Test
	void walRateThatIsNotASizeOrIsNegativeFailsStartUpNamingTheProperty() {
		this.contextRunner.withPropertyValues("zdm.migrations.accounts-name.backfill.max-wal-rate=fast")
			.run((context) -> {
				assertThat(context).hasFailed();
				assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("fast");
				assertThat(context.getStartupFailure()).hasStackTraceContaining(
						"Failed to bind properties under 'zdm.migrations.accounts-name.backfill.max-wal-rate'");
			});
		this.contextRunner.withPropertyValues("zdm.migrations.accounts-name.backfill.max-wal-rate=-1MB")
			.run((context) -> {
				assertThat(context).hasFailed();
				assertThat(context.getStartupFailure()).rootCause()
					.hasMessageContaining("zdm.migrations.accounts-name.backfill.max-wal-rate is -1048576B")
					.hasMessageContaining("out of range");
			});
	}

	@Test
	void endpointShowsRequestedAndEffectivePhaseWithTheReasonTheFleetAndTheState() {
		this.contextRunner.run((context) -> {
			assertThat(context).hasSingleBean(ZdmEndpoint.class);
			ZdmEndpoint endpoint = context.getBean(ZdmEndpoint.class);
			MigrationDescriptor migration = endpoint.migrations().migrations().get("accounts-name");
			assertThat(migration.table()).isEqualTo("public.accounts");
			assertThat(migration.requestedPhase()).isEqualTo("read-new");
			assertThat(migration.effectivePhase()).isEqualTo("backfill");
			assertThat(migration.heldBackReason()).contains("read-new needs a verified backfill");
			assertThat(migration.fleet()).singleElement().satisfies((member) -> {
				assertThat(member.instanceId()).isEqualTo("observed");
				assertThat(member.live()).isTrue();
			});
			assertThat(migration.state().verified()).isFalse();
			assertThat(migration.locks()).as("lock figures when nobody waits").isNotNull();
			assertThat(migration.locks().waitingSessions()).isZero();
			assertThat(migration.locks().blockers()).isEmpty();
			assertThat(endpoint.migration("accounts-name")).isNotNull();
			assertThat(endpoint.migration("no-such-migration")).isNull();
			assertThat(endpoint.migrations().instance().id()).isEqualTo("observed");
		});
	}

	@Test
	void endpointAndMetricsShowSessionsWaitingOnTheTableAndWhoBlocksThem() {
		this.contextRunner.withPropertyValues("zdm.migrations.accounts-name.phase=expand").run((context) -> {
			PhaseController controller = context.getBean(PhaseController.class);
			try (Connection blocker = postgres.database().newConnection();
					Connection waiter = postgres.database().newConnection()) {
				blocker.setAutoCommit(false);
				try (Statement statement = blocker.createStatement()) {
					statement.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");
				}
				CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
					try (Statement statement = waiter.createStatement()) {
						statement.execute("SELECT count(*) FROM accounts");
					}
					catch (Exception ex) {
						throw new IllegalStateException(ex);
					}
				});
				try {
					await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
						controller.refresh();
						MigrationDescriptor migration = context.getBean(ZdmEndpoint.class).migration("accounts-name");
						assertThat(migration.locks()).isNotNull();
						assertThat(migration.locks().waitingSessions()).isEqualTo(1);
						assertThat(migration.locks().blockers()).singleElement()
							.asString()
							.contains("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
							.contains("idle in transaction");
					});
					MeterRegistry registry = context.getBean(MeterRegistry.class);
					assertThat(registry.get("zdm.locks.waiters").tag("migration", "accounts-name").gauge().value())
						.isEqualTo(1);
					assertThat(registry.get("zdm.locks.longest.wait").timeGauge().value()).isPositive();
					assertThat(registry.get("zdm.transactions.oldest.age").timeGauge().value()).isPositive();
				}
				finally {
					blocker.rollback();
					waiting.get(10, TimeUnit.SECONDS);
				}
			}
		});
	}

	@Test
	void metricsShowPhasesAndFleet() {
		this.contextRunner.run((context) -> {
			assertThat(context).hasSingleBean(ZdmMetrics.class);
			MeterRegistry registry = context.getBean(MeterRegistry.class);
			assertThat(registry.get("zdm.phase.requested").tag("migration", "accounts-name").gauge().value())
				.isEqualTo(3);
			assertThat(registry.get("zdm.phase.effective").tag("migration", "accounts-name").gauge().value())
				.isEqualTo(2);
			assertThat(registry.get("zdm.phase.held.back").gauge().value()).isEqualTo(1);
			assertThat(registry.get("zdm.fleet.instances").gauge().value()).isEqualTo(1);
			assertThat(registry.get("zdm.heartbeat.failing").gauge().value()).isZero();
		});
	}

	@Test
	void healthAndMetricsReportAPendingExpandAndRaiseTheStalledSignalAfterTheAlertTime() {
		postgres.jdbc().execute("CREATE TABLE IF NOT EXISTS ledgers (id bigint PRIMARY KEY, name text)");
		this.contextRunner
			.withPropertyValues("zdm.migrations.ledgers-name.table=ledgers",
					"zdm.migrations.ledgers-name.phase=dual-write",
					"zdm.migrations.ledgers-name.up.display_name=initcap(name)",
					"zdm.migrations.ledgers-name.expand=classpath:db/zdm/ledgers-name/expand",
					"zdm.migrations.ledgers-name.expand-paused=true", "zdm.ddl.expand-alert-after=1ms")
			.run((context) -> {
				Health health = context.getBean(ZdmHealthIndicator.class).health(true);
				assertThat(health.getStatus()).as("a pending expand never makes the instance down")
					.isEqualTo(Status.UP);
				assertThat(health.getDetails().get("ledgers-name")).asInstanceOf(InstanceOfAssertFactories.MAP)
					.extractingByKey("phase")
					.asString()
					.startsWith("expand (requested dual-write: the expand DDL is not done yet");
				assertThat(health.getDetails().get("expand").toString()).contains("ledgers-name", "PAUSED",
						"stalled=true");
				MeterRegistry registry = context.getBean(MeterRegistry.class);
				assertThat(registry.get("zdm.ddl.expand.pending").tag("migration", "ledgers-name").gauge().value())
					.isOne();
				assertThat(registry.get("zdm.ddl.expand.stalled").tag("migration", "ledgers-name").gauge().value())
					.isOne();
				assertThat(registry.get("zdm.ddl.expand.pending.time")
					.tag("migration", "ledgers-name")
					.timeGauge()
					.value(java.util.concurrent.TimeUnit.NANOSECONDS)).isPositive();
				assertThat(registry.get("zdm.ddl.expand.lock.timeouts")
					.tag("migration", "ledgers-name")
					.functionCounter()
					.count()).isZero();
			});
	}

	@Test
	void healthIsUpWithEachMigrationsPhases() {
		this.contextRunner.run((context) -> {
			Health health = context.getBean(ZdmHealthIndicator.class).health(true);
			assertThat(health.getStatus()).isEqualTo(Status.UP);
			assertThat(health.getDetails()).containsKey("accounts-name");
			assertThat(details(health, "accounts-name")).containsKey("heldBackFor")
				.doesNotContainKey("problems")
				.extractingByKey("phase")
				.asString()
				.startsWith("backfill (requested read-new");
		});
	}

	@Test
	void zdmsOwnCallsOnTheApplicationsPoolAreNotCountedAsTheApplicationsLatency() {
		this.contextRunner.withConfiguration(AutoConfigurations.of(DataSourcePoolMetricsAutoConfiguration.class))
			.withPropertyValues("zdm.fleet.heartbeat-interval=100ms")
			.run((context) -> {
				MeterRegistry registry = context.getBean(MeterRegistry.class);
				MicrometerApplicationLatency latency = context.getBean(MicrometerApplicationLatency.class);
				ZdmEndpoint endpoint = context.getBean(ZdmEndpoint.class);
				long poolCalls = registry.get("hikaricp.connections.usage").timer().count();
				long applicationCalls = latency.totals().calls();
				// zdm's heartbeats and the endpoint's reads go through the pool
				for (int i = 0; i < 10; i++) {
					endpoint.migration("accounts-name");
				}
				await().atMost(Duration.ofSeconds(20))
					.until(() -> registry.get("hikaricp.connections.usage").timer().count() > poolCalls + 30);
				assertThat(latency.totals().calls() - applicationCalls).as("application calls counted").isZero();
				// the application's own calls count
				new JdbcTemplate(context.getBean(DataSource.class)).queryForObject("SELECT 1", Integer.class);
				assertThat(latency.totals().calls() - applicationCalls).isOne();
			});
	}

	@Test
	void healthReportsAPhaseHeldBackForLongerThanTheThresholdWhileStayingUp() {
		this.contextRunner
			.withPropertyValues("zdm.fleet.heartbeat-interval=100ms", "zdm.health.held-back-threshold=300ms")
			.run((context) -> await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
				Health health = context.getBean(ZdmHealthIndicator.class).health(true);
				assertThat(health.getStatus()).isEqualTo(Status.UP);
				assertThat(details(health, "accounts-name").get("problems")).asString()
					.contains("phase held back at backfill for")
					.contains("read-new needs a verified backfill");
				assertThat(context.getBean(MeterRegistry.class)
					.get("zdm.phase.held.back.duration")
					.tag("migration", "accounts-name")
					.timeGauge()
					.value()).isGreaterThan(0.3);
			}));
	}

	@Test
	void contractWaitingBehindALockMovesTheDdlMetersShowsInHealthAndIsTraced() throws Exception {
		postgres.jdbc().execute("CREATE TABLE ledger (id bigint PRIMARY KEY, legacy text)");
		TestObservationRegistry observations = TestObservationRegistry.create();
		try (Connection blocker = postgres.database().newConnection()) {
			int blockerPid = pid(blocker);
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("SELECT count(*) FROM ledger");
			}
			this.contextRunner.withConfiguration(AutoConfigurations.of(ZdmObservationAutoConfiguration.class))
				.withBean(ObservationRegistry.class, () -> observations)
				.withPropertyValues("zdm.fleet.heartbeat-interval=100ms", "zdm.migrations.ledger-legacy.table=ledger",
						"zdm.migrations.ledger-legacy.phase=contract",
						"zdm.migrations.ledger-legacy.contract=classpath:db/zdm/ledger-legacy/contract",
						"zdm.ddl.initial-backoff=50ms", "zdm.ddl.max-backoff=200ms", "zdm.ddl.max-attempts=1000",
						"zdm.health.ddl-blocked-threshold=500ms")
				.run((context) -> {
					MeterRegistry registry = context.getBean(MeterRegistry.class);
					ZdmHealthIndicator indicator = context.getBean(ZdmHealthIndicator.class);
					await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
						assertThat(registry.get("zdm.ddl.lock.timeouts")
							.tags("migration", "ledger-legacy", "step", "contract")
							.counter()
							.count()).isGreaterThanOrEqualTo(3);
						assertThat(registry.get("zdm.ddl.attempts")
							.tags("migration", "ledger-legacy", "step", "contract")
							.counter()
							.count()).isGreaterThanOrEqualTo(3);
						assertThat(registry.get("zdm.ddl.blocked")
							.tags("migration", "ledger-legacy", "step", "contract")
							.timer()
							.totalTime(TimeUnit.MILLISECONDS)).isGreaterThanOrEqualTo(300);
						assertThat(registry.get("zdm.ddl.blocked.current")
							.tag("migration", "ledger-legacy")
							.timeGauge()
							.value()).isGreaterThan(0.5);
						Health health = indicator.health(true);
						assertThat(health.getStatus()).isEqualTo(Status.UP);
						assertThat(details(health, "ledger-legacy").get("problems")).asString()
							.contains("migration 'ledger-legacy' contract V1__drop_legacy.sql statement 1 blocked for")
							.contains("blocked by pid " + blockerPid + " (idle in transaction")
							.contains("ALTER TABLE ledger DROP COLUMN legacy");
					});
					assertThat(postgres.jdbc()
						.queryForList("SELECT attname FROM pg_attribute WHERE attrelid = 'ledger'::regclass "
								+ "AND attnum > 0 AND NOT attisdropped", String.class))
						.contains("legacy");
					assertThat(registry.get("zdm.ddl.statements")
						.tags("migration", "ledger-legacy", "step", "contract", "outcome", "applied")
						.counter()
						.count()).isZero();
					blocker.commit();
					await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
						assertThat(registry.get("zdm.ddl.statements")
							.tags("migration", "ledger-legacy", "step", "contract", "outcome", "applied")
							.counter()
							.count()).isEqualTo(1);
						assertThat(registry.get("zdm.ddl.duration")
							.tags("migration", "ledger-legacy", "step", "contract", "outcome", "applied")
							.timer()
							.count()).isEqualTo(1);
						assertThat(registry.get("zdm.ddl.blocked.current")
							.tag("migration", "ledger-legacy")
							.timeGauge()
							.value()).isZero();
						assertThat(details(indicator.health(true), "ledger-legacy")).doesNotContainKey("problems");
						// the listeners are told one after another on the runner's
						// thread:
						// the meters moving says nothing of the observation having
						// stopped
						TestObservationRegistryAssert.assertThat(observations)
							.hasAnObservation((observation) -> observation.hasNameEqualTo(DdlObservations.STATEMENT)
								.hasLowCardinalityKeyValue("migration", "ledger-legacy")
								.hasLowCardinalityKeyValue("step", "contract")
								.hasLowCardinalityKeyValue("outcome", "applied")
								.doesNotHaveError());
					});
				});
		}
	}

	@SuppressWarnings("unchecked")
	private static Map<String, Object> details(Health health, String migration) {
		return (Map<String, Object>) health.getDetails().get(migration);
	}

	private static int pid(Connection connection) throws Exception {
		try (Statement statement = connection.createStatement();
				ResultSet rs = statement.executeQuery("SELECT pg_backend_pid()")) {
			rs.next();
			return rs.getInt(1);
		}
	}

	@Test
	void healthIsDownWhileHeartbeatsFail() {
		this.contextRunner.run((context) -> {
			PhaseController controller = context.getBean(PhaseController.class);
			postgres.jdbc().execute("ALTER TABLE zdm_instance RENAME TO zdm_instance_away");
			try {
				controller.refresh();
				Health health = context.getBean(ZdmHealthIndicator.class).health(true);
				assertThat(health.getStatus()).isEqualTo(Status.DOWN);
				assertThat(health.getDetails().get("accounts-name").toString()).contains("heartbeat failing");
				assertThat(context.getBean(MeterRegistry.class).get("zdm.heartbeat.failing").gauge().value())
					.isEqualTo(1);
			}
			finally {
				postgres.jdbc().execute("ALTER TABLE zdm_instance_away RENAME TO zdm_instance");
			}
			controller.refresh();
			assertThat(context.getBean(ZdmHealthIndicator.class).health(true).getStatus()).isEqualTo(Status.UP);
		});
	}

	@Test
	void observabilityBacksOffWhenDisabledOrNotExposed() {
		this.contextRunner
			.withPropertyValues("management.endpoints.web.exposure.include=health",
					"management.health.zdm.enabled=false")
			.run((context) -> assertThat(context).hasSingleBean(PhaseController.class)
				.doesNotHaveBean(ZdmEndpoint.class)
				.doesNotHaveBean(ZdmHealthIndicator.class));
		this.contextRunner.withPropertyValues("zdm.enabled=false")
			.run((context) -> assertThat(context).doesNotHaveBean(ZdmEndpoint.class)
				.doesNotHaveBean(ZdmMetrics.class)
				.doesNotHaveBean(ZdmHealthIndicator.class));
	}

}
