package dev.zdm.testkit;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.NestedExceptionUtils;
import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.core.io.Resource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.init.ResourceDatabasePopulator;
import org.springframework.util.function.ThrowingConsumer;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.BackfillVerification;
import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Walks an application's migrations through every phase, {@code expand},
 * {@code dual-write}, {@code backfill}, {@code read-new} and {@code contract}, on a
 * database of its own, and checks at each phase what zdm promises:
 * <ul>
 * <li>the application starts at the phase (its scripts passed the unsafe-operation
 * checks) and runs at it;</li>
 * <li>the user's {@link PhaseScenario scenario} passes;</li>
 * <li>old and new agree for every row: from {@code dual-write} for the rows the write
 * path derived, and for every row once the backfill is verified; for a cross-table
 * migration, source and target rows matched by key, with target rows that have no source
 * row reported from {@code dual-write} and missing target rows once the backfill is
 * verified;</li>
 * <li>at {@code backfill}, the backfill completed and verified;</li>
 * <li>at {@code contract}, the contract DDL ran, and the scenario still passes
 * afterwards.</li>
 * </ul>
 * {@link #run()} deploys one instance per phase, the next one starting while the current
 * phase is checked, except at {@code backfill}, where the instance of {@code dual-write}
 * is moved on without a restart ({@link #restartEveryPhase()} turns that off);
 * {@link #runMixedFleet()} runs two instances side by side at adjacent phases, as a
 * rolling deploy does, and runs the scenario on both after every step. A failure is a
 * {@link PhaseWalkFailure} that names the phase, the instances and, for a disagreement,
 * the rows.
 * <p>
 * Every instance runs with fleet timing shortened for tests, heartbeat every 200 ms, and
 * the backfill's pause between batches shortened to 10 ms, so a walk on a small table
 * takes seconds. The liveness timeout is 10 s: instances leave the fleet when they stop,
 * so a long timeout costs the walk nothing, and a loaded machine cannot drop a live
 * instance. Properties given with {@link #property(String, String)} override these.
 * <p>
 * Rows that exist before the migration are inserted by a
 * {@link #beforeExpand(ThrowingConsumer) beforeExpand} step, which runs after the
 * application's own schema migrations and before zdm's expand; a walk whose backfill
 * copies none of the rows fails at {@code backfill}, since the copy was never exercised.
 * {@link #conversion(Conversion) Conversion examples} are checked against PostgreSQL's
 * evaluation of {@code up} and {@code down} once the expand DDL has run, before any
 * scenario. The walk returns a {@link WalkReport} of where its time went, and logs it.
 */
public final class PhaseWalk {

	private static final Log logger = LogFactory.getLog(PhaseWalk.class);

	private static final Duration POLL = PhaseArrival.POLL;

	private final ZdmDatabase database;

	private final List<Class<?>> sources = new ArrayList<>();

	private final Set<String> migrationIds = new LinkedHashSet<>();

	private final Map<String, String> properties = new LinkedHashMap<>();

	private PhaseScenario scenario = (step) -> {
	};

	private Duration timeout = Duration.ofSeconds(90);

	private @Nullable ThrowingConsumer<JdbcTemplate> beforeExpand;

	private final Map<String, Conversion> conversions = new LinkedHashMap<>();

	// the reasons the walk runs a migration's contract over a final check that holds it
	private final Map<String, String> finalCheckOverrides = new LinkedHashMap<>();

	private WalkTimes times = new WalkTimes();

	private final Map<String, BackfillProgress> backfills = new LinkedHashMap<>();

	private boolean started;

	private boolean conversionsChecked;

	private AgreementCheck.@Nullable Step stepBegan;

	private boolean restartEveryPhase;

	// where the instances keep zdm's tables (zdm.schema), as the last one started says
	private ZdmTables tables = ZdmTables.inSchema(null);

	/**
	 * Create a walk on a database. Within a test class annotated {@link ZdmTest}, declare
	 * a parameter of this type instead.
	 * @param database the database, which must not be shared with another walk
	 */
	public PhaseWalk(ZdmDatabase database) {
		this.database = database;
	}

	/**
	 * Set the application to walk.
	 * @param sources the application's sources, typically its
	 * {@code @SpringBootApplication} class
	 * @return this walk
	 */
	public PhaseWalk application(Class<?>... sources) {
		this.sources.clear();
		this.sources.addAll(Arrays.asList(sources));
		return this;
	}

	/**
	 * Set the migrations to walk; by default, every migration the application declares.
	 * @param ids the migrations' ids, keys under {@code zdm.migrations}
	 * @return this walk
	 */
	public PhaseWalk migrations(String... ids) {
		this.migrationIds.clear();
		this.migrationIds.addAll(Arrays.asList(ids));
		return this;
	}

	/**
	 * Set a property of every instance, overriding the application's configuration and
	 * the walk's timing. A migration's phase is the walk's to set, instance by instance.
	 * @param key the property
	 * @param value its value
	 * @return this walk
	 * @throws IllegalArgumentException for {@code zdm.migrations.<id>.phase}
	 */
	public PhaseWalk property(String key, String value) {
		if (key.startsWith(PhaseInitializer.MIGRATIONS_PREFIX) && key.endsWith(PhaseInitializer.PHASE_SUFFIX)) {
			throw new IllegalArgumentException("The walk sets " + key + " itself, for each instance as it walks the "
					+ "phases, so the value " + value + " would be ignored: remove the property. To test the "
					+ "application at one phase, give the phase in a @ZdmTest @SpringBootTest's properties");
		}
		this.properties.put(key, value);
		return this;
	}

	/**
	 * Set the scenario run on every instance at every phase.
	 * @param scenario the scenario
	 * @return this walk
	 */
	public PhaseWalk scenario(PhaseScenario scenario) {
		this.scenario = scenario;
		return this;
	}

	/**
	 * Set how long the walk waits for each condition: an instance reaching its phase, the
	 * backfill verifying, the contract DDL running. 90 seconds by default.
	 * @param timeout the bound
	 * @return this walk
	 */
	public PhaseWalk timeout(Duration timeout) {
		this.timeout = timeout;
		return this;
	}

	/**
	 * Set a step that inserts the rows that exist before the migration. It runs once, in
	 * the walk's first instance, after the application's own schema migrations (Flyway,
	 * Liquibase, {@code spring.sql.init}) and before zdm's phase controller starts, so
	 * before the expand DDL and the sync trigger: the backfill then copies and verifies
	 * these rows. Rows inserted later, at {@code expand}, get their new columns from the
	 * sync trigger, and the backfill has nothing to copy. <pre class="code">
	 * walk.beforeExpand((jdbc) -&gt; jdbc.update("INSERT INTO products (name, price) "
	 *         + "SELECT 'product ' || i, i * 1.01 FROM generate_series(1, 500) AS i"))
	 * </pre>
	 * @param step the step, given a {@link JdbcTemplate} on the walk's database
	 * @return this walk
	 */
	public PhaseWalk beforeExpand(ThrowingConsumer<JdbcTemplate> step) {
		this.beforeExpand = step;
		return this;
	}

	/**
	 * Set SQL scripts that insert the rows that exist before the migration, run as
	 * {@link #beforeExpand(ThrowingConsumer)} runs its step.
	 * @param scriptLocations the scripts, for example {@code classpath:seed/products.sql}
	 * @return this walk
	 * @throws IllegalArgumentException if a script does not exist
	 */
	public PhaseWalk beforeExpand(String... scriptLocations) {
		DefaultResourceLoader loader = new DefaultResourceLoader();
		ResourceDatabasePopulator populator = new ResourceDatabasePopulator();
		for (String location : scriptLocations) {
			Resource script = loader.getResource(location);
			if (!script.exists()) {
				throw new IllegalArgumentException("No beforeExpand script at '" + location
						+ "'; give its location, for example classpath:seed/products.sql");
			}
			populator.addScript(script);
		}
		return beforeExpand((jdbc) -> populator.execute(jdbc.getDataSource()));
	}

	/**
	 * Add examples of a migration's conversion, checked against PostgreSQL's evaluation
	 * of its {@code up} and {@code down} expressions once the expand DDL has created the
	 * new columns, before any scenario runs and before the next phase's instance starts;
	 * the round trip of {@code down} and {@code up} is checked on the rows that exist at
	 * that time and on values generated from the columns' types. Only reads the database.
	 * @param conversion the examples
	 * @return this walk
	 */
	public PhaseWalk conversion(Conversion conversion) {
		this.conversions.put(conversion.migrationId(), conversion);
		return this;
	}

	/**
	 * Run a migration's contract over a final check that holds it back, as an operator
	 * does with {@code POST /actuator/zdm/<id>/contract/override} and a reason: for a
	 * walk whose rows hold values that {@code up} maps to {@code NULL} on purpose (a
	 * tolerant type change), which the final check before the contract holds the contract
	 * for, since the contract drops them with the old columns. Without it the walk fails
	 * at {@code contract} with the check's reason.
	 * @param migrationId the migration
	 * @param reason why its old values may go, recorded as an operator's is
	 * @return this walk
	 */
	public PhaseWalk overrideFinalCheck(String migrationId, String reason) {
		if (reason == null || reason.isBlank()) {
			throw new IllegalArgumentException("An override of the final contract check of migration '" + migrationId
					+ "' needs a reason, as in overrideFinalCheck(\"" + migrationId
					+ "\", \"unpriced items are priced by hand\")");
		}
		this.finalCheckOverrides.put(migrationId, reason);
		return this;
	}

	/**
	 * Return the walk's database.
	 * @return the database
	 */
	public ZdmDatabase database() {
		return this.database;
	}

	/**
	 * Walk one instance through every phase, one deploy per phase.
	 * @return where the walk's time went, and what its backfills copied
	 * @throws PhaseWalkFailure if the application, the scenario or one of zdm's checks
	 * fails
	 */
	public WalkReport run() {
		requireApplication();
		begin();
		Phase[] phases = Phase.steps().toArray(Phase[]::new);
		WalkInstance current = start("walk", phases[0]);
		try {
			// the conversion checks run before the next deploy starts
			enter(List.of(current));
		}
		catch (RuntimeException | Error ex) {
			stop(current);
			throw ex;
		}
		for (int i = 0; i < phases.length; i++) {
			Phase following = (i + 1 < phases.length) ? phases[i + 1] : null;
			boolean move = following != null && movesWithoutRestart(phases[i], following);
			// the next deploy starts while this phase is checked, as in a rolling deploy:
			// it is held back until the fleet allows its phase
			CompletableFuture<WalkInstance> next = (following != null && !move) ? startInBackground("walk", following)
					: null;
			try {
				step(List.of(current));
			}
			catch (RuntimeException | Error ex) {
				closeWhenStarted(next);
				stop(current);
				throw ex;
			}
			if (move) {
				move(current, following);
			}
			else {
				retire(current);
				if (next != null) {
					current = join(next);
				}
			}
		}
		return report();
	}

	/**
	 * Start a new instance at every phase, including {@code backfill}, where the walk
	 * otherwise moves the instance that ran {@code dual-write} on to {@code backfill}
	 * without a restart (the application starts nothing differently at {@code backfill};
	 * see the test kit's documentation).
	 * @return this walk
	 */
	public PhaseWalk restartEveryPhase() {
		this.restartEveryPhase = true;
		return this;
	}

	/**
	 * Whether the walk moves the running instance from one phase to the next instead of
	 * starting a new one. Only {@code dual-write} to {@code backfill}: the instance
	 * routes its repositories the same way at both (writes to both sides, reads from the
	 * old one) and nothing in its start-up depends on the difference; the backfill is
	 * started by a heartbeat, in a new instance as in a moved one. Every other deploy
	 * starts an instance that does something differently from its first request on: the
	 * first on the expanded schema, reads from the new side, the contract's checks at
	 * start-up.
	 * @param from the phase the instance runs
	 * @param to the next phase
	 * @return whether to move it
	 */
	boolean movesWithoutRestart(Phase from, Phase to) {
		return !this.restartEveryPhase && from == Phase.DUAL_WRITE && to == Phase.BACKFILL;
	}

	/**
	 * Move a running instance to the next phase without a restart.
	 * @param instance the instance
	 * @param phase the next phase
	 */
	void move(WalkInstance instance, Phase phase) {
		long started = System.nanoTime();
		try {
			instance.moveTo(phase);
		}
		catch (RuntimeException ex) {
			throw new PhaseWalkFailure(phase, "instance " + instance.name(),
					"the instance could not be moved to " + phase + ": " + describe(ex), ex);
		}
		finally {
			this.times.add(WalkTimes.Activity.PHASES_AND_DDL, started);
		}
	}

	/**
	 * Walk two instances side by side, the old and the new version of the service,
	 * through every phase as a rolling deploy does: the new one moves one phase ahead,
	 * then the old one follows. At every step the scenario runs on both and the checks
	 * run.
	 * @return where the walk's time went, and what its backfills copied
	 * @throws PhaseWalkFailure if the application, the scenario or one of zdm's checks
	 * fails
	 */
	public WalkReport runMixedFleet() {
		requireApplication();
		begin();
		List<WalkInstance> running = new ArrayList<>();
		try {
			WalkInstance old = start("old", Phase.EXPAND);
			running.add(old);
			WalkInstance updated = start("new", Phase.EXPAND);
			running.add(updated);
			step(List.of(old, updated));
			Phase[] phases = Phase.steps().toArray(Phase[]::new);
			for (int i = 1; i < phases.length; i++) {
				updated = replace(running, updated, "new", phases[i]);
				step(List.of(old, updated));
				old = replace(running, old, "old", phases[i]);
				step(List.of(old, updated));
			}
		}
		finally {
			running.forEach(this::stop);
		}
		return report();
	}

	private void begin() {
		this.times = new WalkTimes();
		this.backfills.clear();
		this.started = false;
		this.conversionsChecked = false;
	}

	/**
	 * Return where the walk's time went so far, and log it.
	 * @return the report
	 */
	WalkReport report() {
		Duration total = this.times.sinceStart();
		Duration ddl = Duration.ZERO;
		for (String id : this.migrationIds) {
			try {
				ddl = ddl.plus(TestKitSupport.ddlTime(this.database.dataSource(), this.tables, id));
			}
			catch (RuntimeException ex) {
				// zdm's tables do not exist: the walk failed before zdm started
			}
		}
		WalkReport report = new WalkReport(total, this.times, this.backfills, ddl);
		logger.info(report);
		return report;
	}

	void stop(WalkInstance instance) {
		long started = System.nanoTime();
		instance.close();
		this.times.add(WalkTimes.Activity.APPLICATION_STOP, started);
	}

	// a deploy's replaced instance: the walk never brings it back at its phase
	void retire(WalkInstance instance) {
		long started = System.nanoTime();
		instance.retire();
		this.times.add(WalkTimes.Activity.APPLICATION_STOP, started);
	}

	private CompletableFuture<WalkInstance> startInBackground(String slot, Phase phase) {
		CompletableFuture<WalkInstance> future = new CompletableFuture<>();
		Thread thread = new Thread(() -> {
			try {
				future.complete(start(slot, phase));
			}
			catch (Throwable ex) {
				future.completeExceptionally(ex);
			}
		}, "zdm-walk-start-" + phase.value());
		thread.setContextClassLoader(Thread.currentThread().getContextClassLoader());
		thread.setDaemon(true);
		thread.start();
		return future;
	}

	private WalkInstance join(CompletableFuture<WalkInstance> future) {
		long started = System.nanoTime();
		try {
			return future.join();
		}
		catch (CompletionException ex) {
			if (ex.getCause() instanceof RuntimeException runtime) {
				throw runtime;
			}
			if (ex.getCause() instanceof Error error) {
				throw error;
			}
			throw ex;
		}
		finally {
			this.times.waitedForStart(started);
		}
	}

	private static void closeWhenStarted(@Nullable CompletableFuture<WalkInstance> future) {
		if (future != null) {
			try {
				future.join().close();
			}
			catch (RuntimeException ex) {
				// it failed to start: nothing to close, and the walk already failed
			}
		}
	}

	void requireApplication() {
		if (this.sources.isEmpty()) {
			throw new IllegalStateException("Set the application to walk with application(MyApplication.class)");
		}
	}

	private WalkInstance replace(List<WalkInstance> running, WalkInstance current, String slot, Phase phase) {
		WalkInstance replacement = start(slot, phase);
		running.add(replacement);
		awaitPhases(phase, List.of(replacement));
		running.remove(current);
		retire(current);
		return replacement;
	}

	private void step(List<WalkInstance> instances) {
		enter(instances);
		for (WalkInstance instance : instances) {
			runScenario(instance);
		}
		check(instances);
	}

	/**
	 * Wait until every instance runs at the phase it requests, and at {@code contract}
	 * until the contract DDL ran.
	 * @param instances the running instances
	 */
	void enter(List<WalkInstance> instances) {
		Phase lowest = lowest(instances);
		List<MigrationDefinition> migrations = migrations(lowest, instances.get(0));
		awaitPhases(lowest, instances);
		if (lowest == Phase.CONTRACT) {
			awaitContracted(lowest, instances, migrations);
		}
		if (!this.conversionsChecked) {
			this.conversionsChecked = true;
			checkConversions(lowest, instances, migrations);
		}
		// the agreement check runs where both sides are there to agree
		boolean bothSides = lowest.isAtLeast(Phase.DUAL_WRITE) && lowest != Phase.CONTRACT;
		this.stepBegan = new AgreementCheck(this.database.dataSource()).step(bothSides ? migrations : List.of());
	}

	/**
	 * Run zdm's checks after the scenario ran at a step.
	 * @param instances the running instances
	 */
	void check(List<WalkInstance> instances) {
		Phase lowest = lowest(instances);
		List<MigrationDefinition> migrations = migrations(lowest, instances.get(0));
		if (lowest.isAtLeast(Phase.BACKFILL) && lowest != Phase.CONTRACT) {
			awaitBackfillVerified(lowest, instances, migrations);
		}
		if (lowest.isAtLeast(Phase.DUAL_WRITE) && lowest != Phase.CONTRACT) {
			long started = System.nanoTime();
			try {
				checkAgreement(lowest, instances, migrations);
			}
			finally {
				this.times.add(WalkTimes.Activity.AGREEMENT_CHECK, started);
			}
		}
		logger.info("zdm walk: phase " + lowest + " passed on " + where(instances));
	}

	/**
	 * Add the time of a {@link PhaseTest @PhaseTest} method to the walk's report.
	 * @param startedNanos when it started, from {@link System#nanoTime()}
	 */
	void testMethodRan(long startedNanos) {
		this.times.add(WalkTimes.Activity.TEST_METHOD, startedNanos);
	}

	PhaseStep stepOf(WalkInstance instance) {
		return new PhaseStep(instance.requested(), instance.name(), instance.context(), instance.port(), this.database);
	}

	private static Phase lowest(List<WalkInstance> instances) {
		return instances.stream().map(WalkInstance::requested).min(Enum::compareTo).orElseThrow();
	}

	private List<MigrationDefinition> migrations(Phase phase, WalkInstance instance) {
		List<MigrationDefinition> declared = instance.migrations();
		List<String> declaredIds = declared.stream().map(MigrationDefinition::id).toList();
		if (this.migrationIds.isEmpty()) {
			if (declared.isEmpty()) {
				throw new PhaseWalkFailure(phase, where(List.of(instance)),
						"the application declares no migration under zdm.migrations", null);
			}
			this.migrationIds.addAll(declaredIds);
		}
		for (String id : this.migrationIds) {
			if (!declaredIds.contains(id)) {
				throw new PhaseWalkFailure(phase, where(List.of(instance)),
						"migration '" + id + "' is not declared; the application declares " + declaredIds, null);
			}
		}
		return declared.stream().filter((migration) -> this.migrationIds.contains(migration.id())).toList();
	}

	WalkInstance start(String slot, Phase phase) {
		String name = "walk-" + slot + "-" + phase.value();
		List<String> arguments = new ArrayList<>();
		for (String property : this.database.springProperties()) {
			arguments.add("--" + property);
		}
		Map<String, String> defaults = new LinkedHashMap<>();
		defaults.put("spring.main.banner-mode", "off");
		defaults.put("server.port", "0");
		defaults.put("zdm.instance-id", name);
		defaults.putAll(ZdmTestDatabaseCustomizerFactory.TEST_TIMING);
		defaults.putAll(this.properties);
		defaults.forEach((key, value) -> arguments.add("--" + key + "=" + value));
		BeforeExpand beforeExpand = null;
		synchronized (this) {
			if (!this.started && this.beforeExpand != null) {
				beforeExpand = new BeforeExpand(this.beforeExpand, this.database, this.times);
			}
			this.started = true;
		}
		long started = System.nanoTime();
		try {
			ConfigurableApplicationContext context = new SpringApplicationBuilder(this.sources.toArray(Class<?>[]::new))
				.initializers(new PhaseInitializer(phase, this.migrationIds, this.properties.keySet(), beforeExpand))
				.run(arguments.toArray(String[]::new));
			WalkInstance instance = new WalkInstance(name, phase, context);
			this.tables = instance.controller().tables();
			return instance;
		}
		catch (RuntimeException ex) {
			throw new PhaseWalkFailure(phase, "instance " + name, "the application did not start: " + describe(ex), ex);
		}
		finally {
			this.times.add(WalkTimes.Activity.APPLICATION_START, started);
		}
	}

	private void awaitPhases(Phase phase, List<WalkInstance> instances) {
		for (WalkInstance instance : instances) {
			for (String id : this.migrationIds) {
				await(WalkTimes.Activity.PHASES_AND_DDL, phase, instances, () -> PhaseArrival
					.phaseUnmet(instance.controller(), id, instance.name(), instance.requested()));
			}
		}
	}

	private void awaitContracted(Phase phase, List<WalkInstance> instances, List<MigrationDefinition> migrations) {
		for (MigrationDefinition migration : migrations) {
			String id = migration.id();
			await(WalkTimes.Activity.PHASES_AND_DDL, phase, instances, () -> {
				for (WalkInstance instance : instances) {
					String override = this.finalCheckOverrides.get(id);
					if (override != null) {
						TestKitSupport.overrideFinalCheck(instance.context(), id, instance.name(), override);
					}
					String unmet = PhaseArrival.contractUnmet(instance.controller(), id, instance.name());
					if (unmet != null) {
						return (override == null && TestKitSupport.finalCheckHolds(instance.context(), id))
								? unmet + ". In a walk, PhaseWalk.overrideFinalCheck(\"" + id + "\", reason) runs the "
										+ "contract over the check, as an operator's override does"
								: unmet;
					}
				}
				return null;
			});
		}
	}

	private void awaitBackfillVerified(Phase phase, List<WalkInstance> instances,
			List<MigrationDefinition> migrations) {
		BackfillService backfills = TestKitSupport.backfillService(this.database.dataSource(), this.tables);
		for (MigrationDefinition migration : migrations) {
			if (!migration.hasBackfill() || !migration.backfill().enabled()) {
				continue;
			}
			String id = migration.id();
			await(WalkTimes.Activity.BACKFILL, phase, instances, () -> {
				BackfillProgress progress = backfills.progress(id);
				if (progress == null) {
					return "the backfill of migration '" + id + "' has not started";
				}
				if (progress.state() != BackfillState.VERIFIED) {
					return "the backfill of migration '" + id + "' did not complete and verify: it is "
							+ progress.state().value() + " after " + progress.rowsDone() + " rows"
							+ ((progress.throttleReason() != null) ? ", throttled: " + progress.throttleReason() : "")
							+ ((progress.lastError() != null) ? ", last error: " + progress.lastError() : "")
							+ ((progress.verification() != null) ? ", verification: " + progress.verification() : "");
				}
				for (WalkInstance instance : instances) {
					if (!instance.status(id).state().isVerified()) {
						return "instance " + instance.name() + " does not see the backfill of migration '" + id
								+ "' as verified";
					}
				}
				return null;
			});
			if (!this.backfills.containsKey(id)) {
				BackfillProgress verified = backfills.progress(id);
				if (verified != null) {
					this.backfills.put(id, verified);
					refuseBackfillThatCopiedNothing(phase, instances, migration, verified);
					refuseRepairs(phase, instances, migration, verified);
				}
			}
		}
	}

	/**
	 * Fail when the backfill copied no row: every row already held its new columns, so
	 * the walk never exercised the copy, typically because the rows that should predate
	 * the migration were inserted after the sync trigger was installed.
	 */
	private void refuseBackfillThatCopiedNothing(Phase phase, List<WalkInstance> instances,
			MigrationDefinition migration, BackfillProgress progress) {
		if (progress.rowsUpdated() > 0) {
			return;
		}
		String found = (progress.rowsDone() == 0) ? "found no row in " + migration.table() + " to copy"
				: "walked " + progress.rowsDone() + " rows of " + migration.table()
						+ " and copied none of them: each already held what up gives"
						+ (migration.isCrossTable() ? " in " + migration.targetTable() : "");
		throw new PhaseWalkFailure(phase, where(instances), "the backfill of migration '" + migration.id() + "' "
				+ found + ", so the walk did not exercise the copy of rows that predate the migration. Rows written "
				+ "after expand get their new side from the "
				+ (migration.isCrossTable() ? "repositories" : "sync trigger")
				+ ", not from the backfill. Insert the rows that exist before the migration with "
				+ "PhaseWalk.beforeExpand(jdbc -> ...) (or @PhaseTest(beforeExpand = \"classpath:...sql\")), which "
				+ "runs after the application's own schema migrations and before zdm's expand; or turn the backfill "
				+ "off with zdm.migrations." + migration.id() + ".backfill.enabled=false if the table is empty "
				+ "everywhere it is deployed", null);
	}

	/**
	 * Fail when the verification repaired rows: they were written on one side only, which
	 * the application's writes never do once it is at {@code dual-write}, so a repository
	 * (or the scenario, writing outside the application) wrote one shape where both
	 * should have been written. A deployed service would have the same rows repaired,
	 * silently, or held at the final check once it reads the new side.
	 */
	private void refuseRepairs(Phase phase, List<WalkInstance> instances, MigrationDefinition migration,
			BackfillProgress progress) {
		BackfillVerification verification = progress.verification();
		if (verification == null || verification.rowsRepaired() == 0) {
			return;
		}
		throw new PhaseWalkFailure(phase, where(instances), "the backfill's verification of migration '"
				+ migration.id() + "' found " + verification.rowsRepaired() + " rows whose new side disagreed with "
				+ "the old after the copy, and repaired them: they were written on one side only after the copy "
				+ "passed them, which the application's own writes never do from dual-write on. Look for a "
				+ "repository that writes only one shape where zdm routes it to write both (a method classified as "
				+ "a read, a Schema.OLD or Schema.NEW repository used directly), or a write of the scenario outside "
				+ "the application (step.jdbc()) on the "
				+ (migration.isCrossTable() ? "source or target table" : "old or new columns")
				+ " alone; the agreement check after the scenario names such rows when it sees them first", null);
	}

	private void checkConversions(Phase phase, List<WalkInstance> instances, List<MigrationDefinition> migrations) {
		// a migration without examples still has its round trip checked over the table's
		// rows, while both sides are there
		List<MigrationDefinition> unstated = (phase != Phase.CONTRACT)
				? migrations.stream().filter((migration) -> !this.conversions.containsKey(migration.id())).toList()
				: List.of();
		if (this.conversions.isEmpty() && unstated.isEmpty()) {
			return;
		}
		long started = System.nanoTime();
		try {
			ConversionCheck check = new ConversionCheck(this.database.dataSource());
			for (MigrationDefinition migration : unstated) {
				String failure = check.checkRows(migration);
				if (failure != null) {
					throw new PhaseWalkFailure(phase, where(instances), "migration '" + migration.id()
							+ "': the round trip over the table's rows failed before any scenario ran:\n" + failure
							+ "\nA row the application writes through the new columns from read-new on would read "
							+ "back otherwise once its old columns are derived from them through down, and the "
							+ "verification and the check before contract would find it disagreeing. Correct up or "
							+ "down; .conversion(Conversion.of(\"" + migration.id() + "\")...) checks them by "
							+ "example too (see the test kit's documentation, \"Conversions checked by example\")",
							null);
				}
			}
			for (Conversion conversion : this.conversions.values()) {
				MigrationDefinition migration = migrations.stream()
					.filter((candidate) -> candidate.id().equals(conversion.migrationId()))
					.findFirst()
					.orElseThrow(() -> new PhaseWalkFailure(phase, where(instances),
							"conversion examples are given for migration '" + conversion.migrationId()
									+ "', which the walk does not walk; it walks "
									+ migrations.stream().map(MigrationDefinition::id).toList(),
							null));
				String failure = check.check(migration, conversion);
				if (failure != null) {
					throw new PhaseWalkFailure(phase, where(instances), "migration '" + migration.id()
							+ "': the conversion check failed before any scenario ran:\n" + failure, null);
				}
			}
		}
		finally {
			this.times.add(WalkTimes.Activity.CONVERSION_CHECK, started);
		}
	}

	private void checkAgreement(Phase phase, List<WalkInstance> instances, List<MigrationDefinition> migrations) {
		AgreementCheck check = new AgreementCheck(this.database.dataSource());
		for (MigrationDefinition migration : migrations) {
			boolean verified = instances.get(0).status(migration.id()).state().isVerified();
			String disagreement = check.check(migration, !verified, this.stepBegan);
			if (disagreement != null) {
				throw new PhaseWalkFailure(phase, where(instances),
						"migration '" + migration.id() + "': " + disagreement, null);
			}
		}
	}

	/**
	 * The cause PostgreSQL (or whatever failed underneath) gave, which the repository's
	 * exception names only deep in its chain; at contract, a column that is gone.
	 */
	private static String causeAndAdvice(Phase phase, Throwable cause, Throwable failure) {
		if (cause == failure) {
			return "";
		}
		String advice = (phase == Phase.CONTRACT && cause instanceof SQLException sql && "42703"
			.equals(sql.getSQLState()))
					? " (the contract DDL ran before this step: a column the application uses is gone; at contract "
							+ "the application must no longer use the migration's old columns, those its down names, "
							+ "and the contract scripts must drop only those, and the tables it moved out of)"
					: "";
		return "; caused by: " + cause.getMessage() + advice;
	}

	private void runScenario(WalkInstance instance) {
		Phase phase = instance.requested();
		PhaseStep step = stepOf(instance);
		long started = System.nanoTime();
		try {
			this.scenario.run(step);
		}
		catch (Exception | AssertionError ex) {
			throw new PhaseWalkFailure(phase, "instance " + instance.name(), "the scenario failed: " + ex
					+ causeAndAdvice(phase, NestedExceptionUtils.getMostSpecificCause(ex), ex), ex);
		}
		finally {
			this.times.add(WalkTimes.Activity.SCENARIO, started);
		}
	}

	/**
	 * Wait until a condition holds, reading it again every {@link #POLL} until the walk's
	 * timeout: the fleet, the DDL and the backfill keep their state in the database and
	 * signal nothing, so the walk reads the state rather than waiting a fixed time.
	 */
	private void await(WalkTimes.Activity activity, Phase phase, List<WalkInstance> instances,
			Supplier<@Nullable String> unmetCondition) {
		long started = System.nanoTime();
		long deadline = started + this.timeout.toNanos();
		try {
			String unmet = unmetCondition.get();
			while (unmet != null) {
				if (System.nanoTime() > deadline) {
					throw new PhaseWalkFailure(phase, where(instances), unmet + " (waited " + this.timeout + ")", null);
				}
				try {
					Thread.sleep(POLL.toMillis());
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
					throw new PhaseWalkFailure(phase, where(instances), "interrupted while " + unmet, ex);
				}
				unmet = unmetCondition.get();
			}
		}
		finally {
			this.times.add(activity, started);
		}
	}

	private static String where(List<WalkInstance> instances) {
		return (instances.size() == 1) ? "instance " + instances.get(0).name()
				: "instances " + String.join(" and ", instances.stream().map(WalkInstance::name).toList());
	}

	private static String describe(Throwable failure) {
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			if (cause instanceof ZdmConfigurationException configuration) {
				return configuration.getMessage() + "\n" + configuration.getAction();
			}
		}
		Throwable root = failure;
		while (root.getCause() != null && root.getCause() != root) {
			root = root.getCause();
		}
		return (root == failure) ? String.valueOf(failure) : failure + ", caused by " + root;
	}

}
