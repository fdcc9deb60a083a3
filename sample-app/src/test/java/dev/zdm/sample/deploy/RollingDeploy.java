package dev.zdm.sample.deploy;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.MalformedURLException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.util.FileSystemUtils;

/**
 * A rolling deploy of a zdm migration under steady traffic: two instances of the service
 * on one database, replaced one at a time at every phase from {@code expand} to
 * {@code contract}, one phase back and forward again, with the backfill runner killed
 * with SIGKILL midway. At the end it prints what failed, what was lost, what disagreed
 * and how long requests took, and exits with 1 when a target is missed.
 * <p>
 * All of it runs on one machine, where a starting instance competes for the CPU with the
 * one serving the traffic, unlike on a fleet. So new instances start at a low priority
 * ({@code nice}, raised back once warmed up) and, with a {@code java -jar} command, with
 * a class data sharing archive; each joins the rotation only after a warm-up whose
 * latency has settled, as behind a readiness check. The report says which of these were
 * in effect.
 * <p>
 * Run it with {@code scripts/rolling-deploy.sh} (against the sample by default,
 * {@code --help} for the options); {@code RollingDeployTests} runs a shortened version.
 */
public final class RollingDeploy {

	private static final List<String> SLOTS = List.of("a", "b");

	private static final int WARM_UP_ROUND = 200;

	private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");

	static {
		// Drop idle connections before the server does, so that no request goes out on a
		// connection just closed.
		if (System.getProperty("jdk.httpclient.keepalive.timeout") == null) {
			System.setProperty("jdk.httpclient.keepalive.timeout", "5");
		}
	}

	private final Options options;

	private final PrintStream out;

	// Sorted by slot, in the order of SLOTS; read by the shutdown hook while the run goes
	// on.
	private final Map<String, ServiceInstance> instances = new ConcurrentSkipListMap<>();

	private final List<String> sequence = new ArrayList<>();

	private final List<Duration> stops = new ArrayList<>();

	private int started;

	private @Nullable Process database;

	private @Nullable Traffic traffic;

	private @Nullable String killed;

	private @Nullable String priorityFailure;

	// While set, the runner is killed midway at the first chance, also during warm-ups.
	private @Nullable String killPhase;

	private boolean killOver;

	private List<String> instanceCommand;

	private String classDataSharing = "off (--cds=false)";

	private int unsettled;

	private boolean shutDown;

	public RollingDeploy(Options options, PrintStream out) {
		this.options = options;
		this.out = out;
		this.instanceCommand = options.command;
	}

	public static void main(String[] args) throws Exception {
		Options options;
		try {
			options = Options.parse(args);
		}
		catch (IllegalArgumentException ex) {
			System.err.println(ex.getMessage());
			System.err.println();
			System.err.println(Options.HELP);
			System.exit(2);
			return;
		}
		if (options == null) {
			System.out.println(Options.HELP);
			return;
		}
		RollingDeploy deploy = new RollingDeploy(options, System.out);
		Report report;
		try {
			report = deploy.run();
		}
		catch (IllegalArgumentException ex) {
			System.err.println(ex.getMessage());
			System.exit(2);
			return;
		}
		System.exit(report.targetsMet() ? 0 : 1);
	}

	/**
	 * Run the deploy and print its report.
	 * @return the report
	 * @throws Exception if the deploy could not be carried out
	 */
	public Report run() throws Exception {
		// Before anything starts, so that a wrong workload costs nothing.
		Workload workload = this.options.workload();
		Files.createDirectories(this.options.workDirectory);
		try (var logs = Files.newDirectoryStream(this.options.workDirectory, "*.log")) {
			for (Path log : logs) {
				Files.delete(log);
			}
		}
		// Interrupted (Ctrl-C, a CI job cancelled, kill), the run stops what it started:
		// the
		// instances, the database it started, the event trigger it created in the user's.
		Thread interrupted = new Thread(() -> {
			log("interrupted: stopping the instances and removing what the run created");
			shutdown();
		}, "rolling-deploy-interrupted");
		Runtime.getRuntime().addShutdownHook(interrupted);
		try {
			JdbcTemplate jdbc = startDatabase();
			boolean observingDdl = observeDdl(jdbc);
			this.instanceCommand = classDataSharing();
			for (String slot : SLOTS) {
				this.instances.put(slot, startInstance(slot, "expand"));
			}
			awaitPhase("expand");
			log("seeding %d rows", this.options.seedRows);
			workload.seed(jdbc, this.options.seedRows);
			Traffic traffic = new Traffic(workload, this.options.rate, this.options.clientThreads);
			this.traffic = traffic;
			for (ServiceInstance instance : this.instances.values()) {
				join(instance);
			}
			traffic.start();
			log("traffic at %d requests/s", this.options.rate);
			this.sequence.add("expand");
			dwell();
			Map<String, Long> disagreeing = Map.of();
			for (String phase : this.options.phases) {
				if (phase.equals("contract")) {
					disagreeing = disagreeingRows(workload, jdbc);
				}
				step(phase);
			}
			// Before the backfill is verified (read-new), old and new disagree by design.
			if (!this.options.phases.contains("contract") && this.options.phases.contains("read-new")) {
				disagreeing = disagreeingRows(workload, jdbc);
			}
			traffic.stop();
			traffic.slowRequestsBySecond().forEach((line) -> log("slow requests at %s", line));
			log("traffic stopped; reading back every acknowledged write");
			List<String> lost = workload.lostWrites(this.instances.get("a").target(), 8);
			boolean contracting = this.options.phases.contains("contract");
			Map<String, Integer> contractRuns = (observingDdl && contracting) ? contractRuns(jdbc) : Map.of();
			Report report = report(traffic, workload, lost, disagreeing, contractRuns, observingDdl && contracting);
			report.print(this.out);
			return report;
		}
		finally {
			shutdown();
			try {
				Runtime.getRuntime().removeShutdownHook(interrupted);
			}
			catch (IllegalStateException ex) {
				// The JVM is exiting: the hook finds everything stopped already.
			}
		}
	}

	private Map<String, Long> disagreeingRows(Workload workload, JdbcTemplate jdbc) {
		Map<String, Long> disagreeing = workload.disagreeingRows(jdbc, this.options.migrations);
		log("rows where old and new disagree: %s", disagreeing);
		return disagreeing;
	}

	private void step(String phase) throws InterruptedException {
		for (String slot : SLOTS) {
			if (phase.equals("backfill") && this.options.killRunner && !this.killOver) {
				this.killPhase = phase;
			}
			replace(slot, phase);
			if (this.killPhase != null) {
				killRunnerMidway(phase);
			}
			this.killOver |= phase.equals("backfill") && this.options.killRunner;
		}
		if (phase.equals("contract")) {
			await("the contract DDL has run", (zdm) -> this.options.migrations.stream()
				.allMatch((id) -> zdm.path("migrations").path(id).path("state").path("contracted").asBoolean()));
		}
		awaitPhase(phase);
		this.sequence.add(phase);
		dwell();
	}

	private void replace(String slot, String phase) {
		ServiceInstance old = this.instances.get(slot);
		traffic().remove(old);
		Duration stop = old.stop(this.options.stopTimeout);
		this.stops.add(stop);
		log("stopped %s in %d ms", old, stop.toMillis());
		ServiceInstance replacement = startInstance(slot, phase);
		this.instances.put(slot, replacement);
		join(replacement);
	}

	/**
	 * Warm a new instance up and add it to the rotation, as a readiness check with
	 * warm-up would: first the warm-up requests while it still runs at a low priority,
	 * then (back at normal priority) rounds of requests until their latency settles.
	 */
	private void join(ServiceInstance instance) {
		long start = System.nanoTime();
		for (int sent = 0; sent < this.options.warmUpRequests; sent += WARM_UP_ROUND) {
			traffic().warmUp(instance, Math.min(WARM_UP_ROUND, this.options.warmUpRequests - sent),
					this.options.warmUpThreads);
			if (killedWhileWarmingUp(instance)) {
				return;
			}
		}
		String priority = "";
		if (this.options.nice != 0) {
			String failure = instance.raisePriority();
			if (failure != null) {
				if (this.priorityFailure == null) {
					this.priorityFailure = failure;
				}
				priority = ", still at nice " + this.options.nice + " (" + failure + ")";
			}
			else {
				priority = ", back at nice 0";
			}
		}
		long deadline = System.nanoTime() + this.options.warmUpTimeout.toNanos();
		double bound = this.options.warmUpP99.toNanos() / 1e6;
		int rounds = 0;
		double p99;
		do {
			p99 = traffic().warmUp(instance, WARM_UP_ROUND, this.options.warmUpThreads);
			rounds++;
			if (killedWhileWarmingUp(instance)) {
				return;
			}
		}
		while (p99 >= bound && System.nanoTime() < deadline);
		if (p99 >= bound) {
			this.unsettled++;
		}
		log("%s joins the rotation after %d warm-up requests%s, then %d until p99 %.1f ms (%s) in %d ms",
				instance.name(), this.options.warmUpRequests, priority, rounds * WARM_UP_ROUND, p99,
				(p99 < bound) ? "settled" : "NOT settled within " + this.options.warmUpTimeout.toSeconds() + " s",
				Duration.ofNanos(System.nanoTime() - start).toMillis());
		traffic().add(instance);
	}

	private boolean killedWhileWarmingUp(ServiceInstance instance) {
		String phase = this.killPhase;
		if (phase != null) {
			killRunnerIfMidway(phase, 60);
		}
		return !instance.isAlive();
	}

	private void killRunnerMidway(String phase) {
		log("waiting for the backfill to be midway");
		long deadline = System.nanoTime() + this.options.phaseTimeout.toNanos();
		while (System.nanoTime() < deadline) {
			if (killRunnerIfMidway(phase, 20)) {
				return;
			}
			sleep(50);
		}
		throw new IllegalStateException("The backfill did not reach midway within " + this.options.phaseTimeout);
	}

	/**
	 * Kill the backfill runner with SIGKILL if the backfill is between 20% and 80% done,
	 * and start a replacement. A runner not yet in the rotation (still warming up) is
	 * killed only from {@code fromPercentWarming} on, so that the kill preferably hits an
	 * instance serving traffic, yet still happens midway when warm-ups are long.
	 * @return whether the kill is over: done, or the backfill finished first
	 */
	private boolean killRunnerIfMidway(String phase, int fromPercentWarming) {
		for (ServiceInstance instance : List.copyOf(this.instances.values())) {
			JsonNode zdm = instance.zdm();
			if (zdm == null) {
				continue;
			}
			for (String id : this.options.migrations) {
				JsonNode backfill = zdm.path("migrations").path(id).path("backfill");
				String state = backfill.path("state").asString("");
				long done = backfill.path("rowsDone").asLong();
				long estimated = backfill.path("rowsEstimated").asLong();
				if (state.equalsIgnoreCase("verified")) {
					log("the backfill of %s finished before it could be killed midway", id);
					this.killPhase = null;
					return true;
				}
				if (!state.equalsIgnoreCase("running") || estimated <= 0 || done < estimated / 5
						|| done > estimated * 4 / 5) {
					continue;
				}
				String runner = backfill.path("runner").asString();
				long pid = pidOf(zdm.path("migrations").path(id).path("fleet"), runner);
				ServiceInstance victim = this.instances.values()
					.stream()
					.filter((candidate) -> candidate.pid() == pid)
					.findFirst()
					.orElse(null);
				if (victim == null) {
					continue;
				}
				boolean serving = traffic().inRotation(victim);
				if (!serving && done * 100 < estimated * fromPercentWarming) {
					continue;
				}
				victim.kill();
				traffic().remove(victim);
				this.killPhase = null;
				this.killed = String.format("%s (runner %s, %s) killed -9 at %d%% of %s's backfill", victim.name(),
						runner, serving ? "serving traffic" : "still warming up, not in the rotation",
						done * 100 / estimated, id);
				log("%s", this.killed);
				String slot = this.instances.entrySet()
					.stream()
					.filter((entry) -> entry.getValue() == victim)
					.findFirst()
					.orElseThrow()
					.getKey();
				ServiceInstance replacement = startInstance(slot, phase);
				this.instances.put(slot, replacement);
				join(replacement);
				return true;
			}
		}
		return false;
	}

	private static long pidOf(JsonNode fleet, String instanceId) {
		for (JsonNode member : fleet) {
			if (member.path("instanceId").asString().equals(instanceId)) {
				return member.path("pid").asLong();
			}
		}
		return -1;
	}

	private void awaitPhase(String phase) {
		await("every instance runs at " + phase, (zdm) -> this.options.migrations.stream()
			.allMatch((id) -> phase.equals(zdm.path("migrations").path(id).path("effectivePhase").asString())));
		log("every instance runs at %s", phase);
	}

	private void await(String condition, Predicate<JsonNode> test) {
		long deadline = System.nanoTime() + this.options.phaseTimeout.toNanos();
		String last = "";
		while (System.nanoTime() < deadline) {
			boolean all = true;
			for (ServiceInstance instance : this.instances.values()) {
				JsonNode zdm = instance.zdm();
				if (zdm == null || !test.test(zdm)) {
					all = false;
					last = (zdm != null) ? heldBack(instance, zdm) : instance.name() + " does not answer";
				}
			}
			if (all) {
				return;
			}
			sleep(100);
		}
		throw new IllegalStateException(
				"Not the case within " + this.options.phaseTimeout + ": " + condition + "; " + last);
	}

	private String heldBack(ServiceInstance instance, JsonNode zdm) {
		StringBuilder description = new StringBuilder(instance.name());
		for (String id : this.options.migrations) {
			JsonNode migration = zdm.path("migrations").path(id);
			description.append("; ")
				.append(id)
				.append(": requested ")
				.append(migration.path("requestedPhase").asString())
				.append(", effective ")
				.append(migration.path("effectivePhase").asString());
			String reason = migration.path("heldBackReason").asString(null);
			if (reason != null) {
				description.append(" (").append(reason).append(")");
			}
		}
		return description.toString();
	}

	private void dwell() throws InterruptedException {
		Thread.sleep(this.options.dwell.toMillis());
	}

	// a port another process listens on would be answered by it, and counted as the
	// instance started there
	static void requireFree(int port) {
		try (ServerSocket socket = new ServerSocket()) {
			socket.setReuseAddress(true);
			socket.bind(new InetSocketAddress(port));
		}
		catch (IOException ex) {
			throw new IllegalStateException("port " + port + " is in use (an instance left from an earlier run, "
					+ "or another program): stop it, or choose other --ports");
		}
	}

	// Spring Boot's report of a failed start (its description and action), which says
	// more than the exit: a misspelt migration id, a missing table
	static String whyFailed(File log) {
		try {
			List<String> lines = Files.readAllLines(log.toPath());
			int start = lines.indexOf("Description:");
			if (start < 0) {
				return "";
			}
			List<String> report = new ArrayList<>();
			for (String line : lines.subList(start + 1, Math.min(lines.size(), start + 16))) {
				if (!line.isBlank()) {
					report.add(line.strip());
				}
			}
			return ": " + String.join(" ", report);
		}
		catch (IOException | RuntimeException ex) {
			return "";
		}
	}

	private ServiceInstance startInstance(String slot, String phase) {
		String name = slot + "-" + (++this.started);
		List<String> arguments = new ArrayList<>(this.options.instanceArguments());
		arguments.add("--zdm.instance-id=" + name);
		for (String id : this.options.migrations) {
			arguments.add("--zdm.migrations." + id + ".phase=" + phase);
		}
		arguments.addAll(this.options.databaseArguments());
		int port = this.options.ports.get(SLOTS.indexOf(slot));
		File log = this.options.workDirectory.resolve(name + ".log").toFile();
		requireFree(port);
		log("starting %s at %s on port %d (log: %s)", name, phase, port, log);
		ServiceInstance instance = ServiceInstance.start(name, this.instanceCommand, arguments, port, log,
				this.options.nice);
		long start = System.nanoTime();
		long deadline = start + this.options.startTimeout.toNanos();
		JsonNode answer;
		while ((answer = instance.zdm()) == null || !name.equals(answer.path("instance").path("id").asText())) {
			if (answer != null) {
				// another process answers on the port: a leftover of an earlier run
				instance.kill();
				throw new IllegalStateException("port " + port + " is answered by zdm instance "
						+ answer.path("instance").path("id").asText() + ", not by " + name
						+ " (left from an earlier run?): stop it, or choose other --ports");
			}
			if (!instance.isAlive()) {
				throw new IllegalStateException(name + " exited while starting" + whyFailed(log) + "; see " + log);
			}
			if (System.nanoTime() > deadline) {
				instance.kill();
				throw new IllegalStateException(
						name + " did not answer within " + this.options.startTimeout + ": see " + log);
			}
			sleep(100);
		}
		log("%s is up in %d ms", instance, Duration.ofNanos(System.nanoTime() - start).toMillis());
		return instance;
	}

	/**
	 * With a command of the form {@code java [options] -jar app.jar}, extract the jar and
	 * make a class data sharing archive of it ({@link ClassDataSharing}), and return the
	 * command that starts instances with that archive. Less CPU goes to loading classes
	 * at every start.
	 */
	private List<String> classDataSharing() throws IOException, InterruptedException {
		List<String> command = this.options.command;
		int jar = command.indexOf("-jar");
		if (!this.options.cds) {
			return command;
		}
		if (jar < 0 || jar != command.size() - 2) {
			this.classDataSharing = "not used: the command is not of the form 'java [options] -jar app.jar'";
			return command;
		}
		long start = System.nanoTime();
		Path jarFile = Path.of(command.get(jar + 1)).toAbsolutePath();
		Path directory = this.options.workDirectory.resolve("cds").toAbsolutePath();
		FileSystemUtils.deleteRecursively(directory);
		List<String> java = command.subList(0, jar);
		List<String> extract = new ArrayList<>(java);
		extract.addAll(List.of("-Djarmode=tools", "-jar", jarFile.toString(), "extract", "--destination",
				directory.toString()));
		Path extracted = directory.resolve(jarFile.getFileName());
		Path archive = directory.resolve("application.jsa");
		List<String> launch = List.of("-jar", extracted.toString());
		List<String> arguments = new ArrayList<>(this.options.instanceArguments());
		arguments.addAll(this.options.databaseArguments());
		Path trainingLog = this.options.workDirectory.resolve("cds-training.log");
		log("class data sharing: extracting %s and making an archive with a training run", jarFile.getFileName());
		if (!Integer.valueOf(0).equals(runToEnd(extract, "cds-extract.log"))
				|| !ClassDataSharing.train(java, launch, arguments, archive, trainingLog, this.options.startTimeout)) {
			this.classDataSharing = "FAILED, instances start without it: see " + trainingLog;
			log("class data sharing %s", this.classDataSharing);
			return command;
		}
		this.classDataSharing = "instances start from " + extracted.getFileName() + " extracted, with "
				+ archive.getFileName() + " (" + Files.size(archive) / (1024 * 1024) + " MB, made in "
				+ Duration.ofNanos(System.nanoTime() - start).toSeconds() + " s)";
		log("class data sharing: %s", this.classDataSharing);
		return ClassDataSharing.command(java, archive, launch);
	}

	private @Nullable Integer runToEnd(List<String> line, String logName) throws IOException, InterruptedException {
		Process process = new ProcessBuilder(line).redirectErrorStream(true)
			.redirectOutput(this.options.workDirectory.resolve(logName).toFile())
			.start();
		if (!process.waitFor(this.options.startTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
			process.destroyForcibly().waitFor();
			return null;
		}
		return process.exitValue();
	}

	private JdbcTemplate startDatabase() throws IOException {
		if (this.options.jdbcUrl == null) {
			int port = this.options.databasePort;
			if (isListening(port)) {
				throw new IllegalStateException("Something already listens on port " + port
						+ "; pass --database-port=<a free port>, or --jdbc-url=... to use your own database");
			}
			Path data = this.options.workDirectory.resolve("postgres");
			FileSystemUtils.deleteRecursively(data);
			List<String> line = new ArrayList<>(this.options.command);
			line.addAll(
					List.of("database", "--sample.postgres.port=" + port, "--sample.postgres.data-directory=" + data));
			log("starting the sample's database on port %d", port);
			this.database = new ProcessBuilder(line).redirectErrorStream(true)
				.redirectOutput(this.options.workDirectory.resolve("database.log").toFile())
				.start();
			long deadline = System.nanoTime() + this.options.startTimeout.toNanos();
			while (!isListening(port)) {
				if (!this.database.isAlive() || System.nanoTime() > deadline) {
					throw new IllegalStateException(
							"The database did not start: see " + this.options.workDirectory.resolve("database.log"));
				}
				sleep(100);
			}
		}
		DriverManagerDataSource dataSource = new DriverManagerDataSource(this.options.effectiveJdbcUrl(),
				this.options.jdbcUser, this.options.jdbcPassword);
		return new JdbcTemplate(dataSource);
	}

	// An event trigger records every DDL command that commits, with the query that ran
	// it: the contract's
	// statements must each appear exactly once. In a schema of its own, so that the
	// application's Flyway still finds
	// its schema empty on a new database. Needs a superuser; without one, this check is
	// left out.
	private boolean observeDdl(JdbcTemplate jdbc) {
		try {
			jdbc.execute("DROP EVENT TRIGGER IF EXISTS rolling_deploy_ddl");
			jdbc.execute("DROP SCHEMA IF EXISTS rolling_deploy CASCADE");
			jdbc.execute("CREATE SCHEMA rolling_deploy");
			jdbc.execute("CREATE TABLE rolling_deploy.ddl (id bigserial PRIMARY KEY, tag text NOT NULL, "
					+ "query text NOT NULL)");
			jdbc.execute("CREATE FUNCTION rolling_deploy.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS "
					+ "$$ BEGIN INSERT INTO rolling_deploy.ddl (tag, query) VALUES (tg_tag, current_query()); END $$");
			jdbc.execute("CREATE EVENT TRIGGER rolling_deploy_ddl ON ddl_command_end "
					+ "EXECUTE FUNCTION rolling_deploy.log_ddl()");
			return true;
		}
		catch (RuntimeException ex) {
			log("cannot observe DDL with an event trigger (%s): the contract-once check is left out", ex.getMessage());
			return false;
		}
	}

	private Map<String, Integer> contractRuns(JdbcTemplate jdbc) {
		JsonNode zdm = this.instances.get("a").zdm();
		Map<String, Integer> runs = new LinkedHashMap<>();
		for (String id : this.options.migrations) {
			for (JsonNode statement : zdm.path("migrations").path(id).path("ddl").path("statements")) {
				if (statement.path("step").asString().equalsIgnoreCase("contract")) {
					String sql = statement.path("sql").asString().strip();
					if (sql.endsWith(";")) {
						sql = sql.substring(0, sql.length() - 1).strip();
					}
					Integer count = jdbc.queryForObject(
							"SELECT count(*) FROM rolling_deploy.ddl WHERE strpos(query, ?) > 0", Integer.class, sql);
					runs.put(id + ": " + sql, count);
				}
			}
		}
		return runs;
	}

	private Report report(Traffic traffic, Workload workload, List<String> lost, Map<String, Long> disagreeing,
			Map<String, Integer> contractRuns, boolean observingDdl) {
		double[] latency = traffic.latencyMillis(50, 99, 100);
		Boolean contractOnce = observingDdl
				? !contractRuns.isEmpty() && contractRuns.values().stream().allMatch((count) -> count == 1) : null;
		String priority = (this.options.nice == 0) ? "off (--no-nice): new instances start at normal priority"
				: "new instances start at nice " + this.options.nice + ", raised to 0 before they join"
						+ ((this.priorityFailure != null)
								? " - FAILED, they stayed at nice " + this.options.nice + ": " + this.priorityFailure
								: "");
		String warmUp = this.options.warmUpRequests + " requests (" + this.options.warmUpThreads
				+ " at a time), then rounds of 200 until p99 < " + this.options.warmUpP99.toMillis() + " ms"
				+ ((this.unsettled > 0) ? "; " + this.unsettled + " instance(s) joined unsettled after "
						+ this.options.warmUpTimeout.toSeconds() + " s" : "");
		return new Report(this.options, String.join(" -> ", this.sequence), this.killed, priority,
				this.classDataSharing, warmUp, traffic.clientCores(), traffic.sent(), traffic.warmUps(),
				traffic.achievedRate(), traffic.skipped(), traffic.failed(), traffic.killedInFlight(),
				traffic.staleReads(), traffic.messages(), workload.figures(), lost, disagreeing, contractRuns,
				contractOnce, latency[0], latency[1], latency[2],
				this.stops.stream().max(Duration::compareTo).orElse(Duration.ZERO));
	}

	private synchronized void shutdown() {
		if (this.shutDown) {
			return;
		}
		this.shutDown = true;
		if (this.traffic != null) {
			try {
				this.traffic.stop();
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
		for (ServiceInstance instance : this.instances.values()) {
			if (instance.isAlive()) {
				instance.stop(this.options.stopTimeout);
			}
		}
		if (this.database != null) {
			this.database.destroy();
			try {
				this.database.waitFor();
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
		else if (this.options.jdbcUrl != null) {
			try {
				JdbcTemplate jdbc = new JdbcTemplate(new DriverManagerDataSource(this.options.jdbcUrl,
						this.options.jdbcUser, this.options.jdbcPassword));
				jdbc.execute("DROP EVENT TRIGGER IF EXISTS rolling_deploy_ddl");
				jdbc.execute("DROP SCHEMA IF EXISTS rolling_deploy CASCADE");
			}
			catch (RuntimeException ex) {
				log("could not remove the DDL event trigger: %s", ex.getMessage());
			}
		}
	}

	private Traffic traffic() {
		Traffic traffic = this.traffic;
		if (traffic == null) {
			throw new IllegalStateException("Traffic has not started");
		}
		return traffic;
	}

	private void log(String format, Object... arguments) {
		this.out.println(
				LocalTime.now().truncatedTo(ChronoUnit.SECONDS).format(TIME) + " " + String.format(format, arguments));
	}

	private static boolean isListening(int port) {
		try (Socket socket = new Socket("localhost", port)) {
			return true;
		}
		catch (IOException ex) {
			return false;
		}
	}

	private static void sleep(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted", ex);
		}
	}

	/**
	 * What the deploy is run against, and how.
	 */
	public static final class Options {

		static final String HELP = """
				Usage: scripts/rolling-deploy.sh [--option=value ...]

				A rolling deploy of zdm migrations under steady traffic: two instances on one database, replaced one
				at a time at every phase (expand, dual-write, backfill, read-new, back to backfill, read-new,
				contract), the backfill runner killed with SIGKILL midway. Defaults run it against the sample.

				  --command=...           how to start one instance; its arguments follow
				                          (default: java -jar sample-app/target/sample-app-0.1.0-SNAPSHOT.jar)
				  --args=...              more arguments for every instance, separated by spaces (default: fast
				                          heartbeats, quiet logs and, with the sample, a paced backfill)
				  --migrations=a,b        the migrations to move (default: customers-email,customers-address)
				  --ports=18080,18081     the two instances' HTTP ports
				  --jdbc-url=...          your database (with --jdbc-user, --jdbc-password); default: the sample's
				                          embedded database, started on --database-port (15439) in --work-dir
				  --workload-file=path    the traffic, described in a JSON file: requests (method, path and body
				                          templates), their mix, and the read that checks each acknowledged
				                          write (format: docs/lifecycle.md, "A workload described in a file")
				  --workload-class=class  or the traffic as a class implementing dev.zdm.sample.deploy.Workload
				                          (default: dev.zdm.sample.deploy.CustomerWorkload, the sample's)
				  --workload-jar=a.jar[:b.jar]  where --workload-class is, with what it needs
				  --rate=150              requests per second
				  --seed-rows=100000      rows written before the deploy starts
				  --dwell=5s              time under traffic after each step
				  --phases=dual-write,backfill,read-new,backfill,read-new,contract
				                          the phases to deploy after expand, in order (a shorter list for
				                          a shorter run: each phase replaces both instances)
				  --kill-runner=true      kill the backfill runner with SIGKILL midway (at the first backfill)
				  --nice=19               start each new instance at this niceness (Linux nice) and raise every
				                          thread back to 0 once it is warmed up, so that starting it takes CPU
				                          the serving instance does not need; needs root (or CAP_SYS_NICE) to
				                          raise it back. --no-nice starts instances at normal priority
				  --cds=true              with a command 'java [options] -jar app.jar': extract the jar and start
				                          instances with a class data sharing archive made by a training run
				  --warm-up-requests=3000 requests sent to a new instance before it joins the rotation
				  --warm-up-threads=4     of them, sent at once
				  --warm-up-p99=50ms, --warm-up-timeout=60s
				                          then rounds of 200 requests until one's p99 is under the bound
				                          (at most for the timeout)
				  --work-dir=target/rolling-deploy   instance logs
				  --start-timeout=180s, --phase-timeout=300s, --stop-timeout=60s
				""";

		List<String> command = List.of("java", "-jar", "sample-app/target/sample-app-0.1.0-SNAPSHOT.jar");

		// For any service: fast heartbeats and quiet logs.
		static final List<String> SERVICE_ARGUMENTS = List.of("--zdm.fleet.heartbeat-interval=500ms",
				"--zdm.fleet.timeout=10s", "--zdm.fleet.join-timeout=10s", "--logging.level.root=warn",
				"--logging.level.dev.zdm=info", "--spring.main.banner-mode=off");

		// --args, replacing the defaults
		private @Nullable List<String> instanceArguments;

		/**
		 * The instances' arguments: those of {@code --args}, or fast heartbeats, quiet
		 * logs and a paced backfill of each of {@code --migrations} (batches of 500 rows,
		 * 100 ms apart), so that the copy lasts long enough for its runner to be killed
		 * midway, whichever service runs (an outside run's own service copied its rows
		 * before it could be killed, and only the sample's migrations were paced).
		 * @return the arguments
		 */
		List<String> instanceArguments() {
			if (this.instanceArguments != null) {
				return this.instanceArguments;
			}
			List<String> arguments = new ArrayList<>(SERVICE_ARGUMENTS);
			for (String id : this.migrations) {
				arguments.add("--zdm.migrations." + id + ".backfill.initial-batch-size=500");
				arguments.add("--zdm.migrations." + id + ".backfill.max-batch-size=500");
				arguments.add("--zdm.migrations." + id + ".backfill.pause=100ms");
			}
			return arguments;
		}

		List<String> migrations = List.of("customers-email", "customers-address");

		List<Integer> ports = List.of(18080, 18081);

		@Nullable String jdbcUrl;

		String jdbcUser = "postgres";

		String jdbcPassword = "postgres";

		int databasePort = 15439;

		String workload = CustomerWorkload.class.getName();

		@Nullable Path workloadFile;

		private boolean workloadClassGiven;

		List<Path> workloadJars = List.of();

		int rate = 150;

		int clientThreads = 64;

		int seedRows = 100_000;

		List<String> phases = List.of("dual-write", "backfill", "read-new", "backfill", "read-new", "contract");

		int nice = 19;

		boolean cds = true;

		int warmUpRequests = 3000;

		int warmUpThreads = 4;

		Duration warmUpP99 = Duration.ofMillis(50);

		Duration warmUpTimeout = Duration.ofSeconds(60);

		Duration dwell = Duration.ofSeconds(5);

		boolean killRunner = true;

		Path workDirectory = Path.of("target", "rolling-deploy");

		Duration startTimeout = Duration.ofSeconds(180);

		Duration phaseTimeout = Duration.ofSeconds(300);

		Duration stopTimeout = Duration.ofSeconds(60);

		/**
		 * Parse command-line options.
		 * @param args the arguments
		 * @return the options, or {@code null} if help was asked for
		 */
		public static @Nullable Options parse(String... args) {
			Options options = new Options();
			for (String arg : args) {
				if (arg.equals("--help") || arg.equals("-h")) {
					return null;
				}
				if (arg.equals("--no-nice")) {
					options.set("nice", "0");
					continue;
				}
				int equals = arg.indexOf('=');
				if (!arg.startsWith("--") || equals < 0) {
					throw new IllegalArgumentException("Unknown argument '" + arg + "': use --option=value");
				}
				options.set(arg.substring(2, equals), arg.substring(equals + 1));
			}
			return options;
		}

		/**
		 * Set one option.
		 * @param name the option's name, as on the command line
		 * @param value its value
		 * @return these options
		 */
		public Options set(String name, String value) {
			try {
				switch (name) {
					case "command" -> this.command = words(value);
					case "args" -> this.instanceArguments = words(value);
					case "migrations" -> this.migrations = List.of(value.split(","));
					case "ports" -> this.ports = Arrays.stream(value.split(",")).map(Integer::valueOf).toList();
					case "jdbc-url" -> this.jdbcUrl = value;
					case "jdbc-user" -> this.jdbcUser = value;
					case "jdbc-password" -> this.jdbcPassword = value;
					case "database-port" -> this.databasePort = Integer.parseInt(value);
					case "workload", "workload-class" -> {
						this.workload = value;
						this.workloadClassGiven = true;
					}
					case "workload-file" -> this.workloadFile = Path.of(value);
					case "workload-jar" -> this.workloadJars = Arrays.stream(value.split(File.pathSeparator))
						.filter((jar) -> !jar.isBlank())
						.map(Path::of)
						.toList();
					case "rate" -> this.rate = Integer.parseInt(value);
					case "client-threads" -> this.clientThreads = Integer.parseInt(value);
					case "seed-rows" -> this.seedRows = Integer.parseInt(value);
					case "phases" -> this.phases = phases(value);
					case "nice" -> this.nice = Integer.parseInt(value);
					case "cds" -> this.cds = Boolean.parseBoolean(value);
					case "warm-up-requests" -> this.warmUpRequests = Integer.parseInt(value);
					case "warm-up-threads" -> this.warmUpThreads = Integer.parseInt(value);
					case "warm-up-p99" -> this.warmUpP99 = duration(value);
					case "warm-up-timeout" -> this.warmUpTimeout = duration(value);
					case "dwell" -> this.dwell = duration(value);
					case "kill-runner" -> this.killRunner = Boolean.parseBoolean(value);
					case "work-dir" -> this.workDirectory = Path.of(value);
					case "start-timeout" -> this.startTimeout = duration(value);
					case "phase-timeout" -> this.phaseTimeout = duration(value);
					case "stop-timeout" -> this.stopTimeout = duration(value);
					default -> throw new IllegalArgumentException("Unknown option --" + name);
				}
			}
			catch (RuntimeException ex) {
				if (ex instanceof IllegalArgumentException && ex.getMessage().startsWith("Unknown option")) {
					throw ex;
				}
				throw new IllegalArgumentException(
						"Invalid value '" + value + "' for --" + name + ": " + ex.getMessage());
			}
			if (this.ports.size() != SLOTS.size() || this.ports.get(0).equals(this.ports.get(1))) {
				throw new IllegalArgumentException(
						"--ports needs " + SLOTS.size() + " different ports, for example 18080,18081");
			}
			if (this.workloadClassGiven && this.workloadFile != null) {
				throw new IllegalArgumentException(
						"--workload-file and --workload-class both describe the traffic: give one of them");
			}
			if (this.rate < 1) {
				throw new IllegalArgumentException("--rate must be at least 1 request per second");
			}
			if (this.nice < 0 || this.nice > 19) {
				throw new IllegalArgumentException("--nice must be between 0 (off) and 19");
			}
			if (this.warmUpThreads < 1) {
				throw new IllegalArgumentException("--warm-up-threads must be at least 1");
			}
			return this;
		}

		/**
		 * Create the workload: the one described in {@code --workload-file}, or an
		 * instance of {@code --workload-class}, loaded from {@code --workload-jar} when
		 * given.
		 * @return the workload
		 * @throws IllegalArgumentException if it cannot be made, with why
		 */
		public Workload workload() {
			if (this.workloadFile != null) {
				return FileWorkload.read(this.workloadFile);
			}
			ClassLoader loader = getClass().getClassLoader();
			if (!this.workloadJars.isEmpty()) {
				URL[] urls = new URL[this.workloadJars.size()];
				for (int i = 0; i < urls.length; i++) {
					Path jar = this.workloadJars.get(i);
					if (!Files.exists(jar)) {
						throw new IllegalArgumentException(
								"--workload-jar: " + jar.toAbsolutePath() + " does not exist");
					}
					try {
						urls[i] = jar.toUri().toURL();
					}
					catch (MalformedURLException ex) {
						throw new IllegalArgumentException("--workload-jar: " + jar + ": " + ex.getMessage(), ex);
					}
				}
				// Closed with the JVM: the workload's classes are used until the deploy
				// ends.
				loader = new URLClassLoader(urls, loader);
			}
			Class<?> type;
			try {
				type = Class.forName(this.workload, true, loader);
			}
			catch (ClassNotFoundException ex) {
				throw new IllegalArgumentException("--workload-class: no class " + this.workload + " on the class path"
						+ (this.workloadJars.isEmpty() ? " (pass its jar with --workload-jar)"
								: " or in " + this.workloadJars),
						ex);
			}
			if (!Workload.class.isAssignableFrom(type)) {
				throw new IllegalArgumentException(
						"--workload-class: " + type.getName() + " does not implement " + Workload.class.getName());
			}
			try {
				return (Workload) type.getDeclaredConstructor().newInstance();
			}
			catch (ReflectiveOperationException ex) {
				throw new IllegalArgumentException("--workload-class: cannot create " + type.getName()
						+ " with a public constructor without arguments: " + ex, ex);
			}
		}

		String effectiveJdbcUrl() {
			return (this.jdbcUrl != null) ? this.jdbcUrl
					: "jdbc:postgresql://localhost:" + this.databasePort + "/postgres";
		}

		List<String> databaseArguments() {
			if (this.jdbcUrl == null) {
				return List.of("--sample.postgres.port=" + this.databasePort);
			}
			return List.of("--spring.datasource.url=" + this.jdbcUrl, "--spring.datasource.username=" + this.jdbcUser,
					"--spring.datasource.password=" + this.jdbcPassword);
		}

		private static List<String> phases(String value) {
			List<String> phases = List.of(value.split(","));
			for (String phase : phases) {
				if (!List.of("dual-write", "backfill", "read-new", "contract").contains(phase)) {
					throw new IllegalArgumentException("unknown phase '" + phase
							+ "': list the phases after expand, each one of dual-write, backfill, read-new, contract");
				}
			}
			return phases;
		}

		private static List<String> words(String value) {
			return Arrays.stream(value.trim().split("\\s+")).filter((word) -> !word.isEmpty()).toList();
		}

		private static Duration duration(String value) {
			String lower = value.trim().toLowerCase();
			if (lower.endsWith("ms")) {
				return Duration.ofMillis(Long.parseLong(lower.substring(0, lower.length() - 2)));
			}
			if (lower.endsWith("s")) {
				return Duration.ofSeconds(Long.parseLong(lower.substring(0, lower.length() - 1)));
			}
			if (lower.endsWith("m")) {
				return Duration.ofMinutes(Long.parseLong(lower.substring(0, lower.length() - 1)));
			}
			return Duration.ofSeconds(Long.parseLong(lower));
		}

	}

	/**
	 * What the deploy measured.
	 *
	 * @param options what it ran against
	 * @param sequence the phases the fleet went through
	 * @param killed the runner killed with SIGKILL, or {@code null} if none was
	 * @param priority how new instances were started and raised to normal priority
	 * @param classDataSharing whether instances started with a class data sharing archive
	 * @param warmUp how new instances were warmed up before they joined the rotation
	 * @param clientCores the CPU the load generator used while the traffic ran, in cores
	 * @param requests requests sent under traffic
	 * @param warmUps requests sent to a new instance before it joined the rotation
	 * @param rate requests per second achieved
	 * @param notSent requests not sent because every client thread was busy
	 * @param failed failed requests, apart from those in flight on the killed instance
	 * @param killedInFlight requests in flight on the killed instance
	 * @param staleReads reads that did not return the last acknowledged value
	 * @param failures the first failures
	 * @param writes the workload's figures
	 * @param lostWrites acknowledged writes not readable with their last value
	 * @param disagreeingRows rows where old and new disagree before contract, per
	 * migration
	 * @param contractRuns executions of each contract statement
	 * @param contractOnce whether every contract statement ran exactly once, {@code null}
	 * if not observed
	 * @param p50 median latency of successful requests, in milliseconds
	 * @param p99 99th percentile
	 * @param max maximum
	 * @param longestStop the longest graceful stop
	 */
	public record Report(Options options, String sequence, @Nullable String killed, String priority,
			String classDataSharing, String warmUp, double clientCores, long requests, long warmUps, double rate,
			long notSent, long failed, long killedInFlight, long staleReads, List<String> failures,
			Map<String, Long> writes, List<String> lostWrites, Map<String, Long> disagreeingRows,
			Map<String, Integer> contractRuns, @Nullable Boolean contractOnce, double p50, double p99, double max,
			Duration longestStop) {

		public long disagreeing() {
			return this.disagreeingRows.values().stream().mapToLong(Long::longValue).sum();
		}

		/**
		 * Whether the deploy met the correctness targets: no failed request apart from
		 * those on the killed instance, no stale read, no lost write, no disagreeing row,
		 * the contract DDL exactly once, the runner killed when asked.
		 * @return {@code true} if met
		 */
		public boolean correct() {
			return missedCorrectness().isEmpty();
		}

		/**
		 * Whether the runner was to be killed midway and was not: the backfill finished
		 * before it could be.
		 */
		private boolean killMissed() {
			return this.options.killRunner && this.options.phases.contains("backfill") && this.killed == null;
		}

		/** A statement's first line: a function's body would fill the report. */
		private static String firstLine(String statement) {
			int end = statement.indexOf('\n');
			return (end < 0) ? statement : statement.substring(0, end).strip() + " ...";
		}

		/** The targets the deploy missed, in the words of the report's lines. */
		private List<String> missed() {
			List<String> missed = missedCorrectness();
			if (this.p99 >= 50) {
				missed.add(String.format(Locale.ROOT, "p99 %.1f ms", this.p99));
			}
			if (this.max >= 500) {
				missed.add(String.format(Locale.ROOT, "max %.1f ms", this.max));
			}
			return missed;
		}

		/** The correctness targets the deploy missed, see {@link #correct()}. */
		private List<String> missedCorrectness() {
			List<String> missed = new ArrayList<>();
			if (this.failed > 0) {
				missed.add(this.failed + " failed");
			}
			if (this.staleReads > 0) {
				missed.add(this.staleReads + " stale");
			}
			if (!this.lostWrites.isEmpty()) {
				missed.add(this.lostWrites.size() + " lost");
			}
			if (disagreeing() > 0) {
				missed.add(disagreeing() + " disagreeing");
			}
			if (Boolean.FALSE.equals(this.contractOnce)) {
				missed.add("contract DDL not exactly once");
			}
			if (killMissed()) {
				missed.add("the runner was not killed");
			}
			return missed;
		}

		/**
		 * Whether the deploy also met the latency targets: p99 under 50 ms, max under 500
		 * ms.
		 * @return {@code true} if every target is met
		 */
		public boolean targetsMet() {
			return missed().isEmpty();
		}

		void print(PrintStream out) {
			out.println();
			out.println("Rolling deploy of " + String.join(", ", this.options.migrations) + ": two instances, "
					+ this.options.rate + " requests/s asked");
			out.println("  phases:                " + this.sequence);
			out.println("  backfill runner:       " + ((this.killed != null) ? this.killed
					: killMissed()
							? "NOT KILLED: the backfill finished before it could be killed midway; seed more rows "
									+ "(--seed-rows) or pass --kill-runner=false"
							: "not killed"));
			out.println("  start-up priority:     " + this.priority);
			out.println("  class data sharing:    " + this.classDataSharing);
			out.println("  warm-up:               " + this.warmUp);
			out.printf(
					"  requests:              %d under traffic (%.0f/s), %d warm-up, %d not sent (all client threads busy)%n",
					this.requests, this.rate, this.warmUps, this.notSent);
			out.println("  failed requests:       " + this.failed + " (and " + this.killedInFlight
					+ " in flight on the killed instance, counted apart)");
			out.println("  stale reads:           " + this.staleReads
					+ " (reads that did not return the last acknowledged value)");
			this.failures.forEach((failure) -> out.println("    " + failure));
			this.writes.forEach((name, value) -> out.println("  " + name + ": " + value));
			out.println("  lost writes:           " + this.lostWrites.size()
					+ " (acknowledged writes not readable with their last value)");
			this.lostWrites.stream().limit(20).forEach((lost) -> out.println("    " + lost));
			out.println("  disagreeing rows:      " + (this.disagreeingRows.isEmpty()
					? "not checked (the deploy did not reach read-new, before which old and new disagree by design)"
					: disagreeing() + " before contract " + this.disagreeingRows));
			out.println("  contract DDL once:     "
					+ ((this.contractOnce == null) ? "not observed" : (this.contractOnce ? "yes" : "NO")));
			this.contractRuns.forEach((statement, runs) -> out.println("    " + runs + "x " + firstLine(statement)));
			out.printf("  latency:               p50 %.1f ms, p99 %.1f ms, max %.1f ms%n", this.p50, this.p99,
					this.max);
			out.printf("  load generator CPU:    %.2f of %d cores on average while the traffic ran%n", this.clientCores,
					Runtime.getRuntime().availableProcessors());
			out.println("  longest stop:          " + this.longestStop.toMillis() + " ms (SIGTERM to exit)");
			out.println("  targets:               " + (targetsMet() ? "met"
					: "MISSED: " + String.join(", ", missed())
							+ " (targets: 0 failed, 0 stale, 0 lost, 0 disagreeing, contract once, the runner killed "
							+ "when asked, p99 < 50 ms, max < 500 ms)"));
		}

	}

}
