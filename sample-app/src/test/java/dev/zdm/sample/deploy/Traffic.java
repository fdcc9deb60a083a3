package dev.zdm.sample.deploy;

import java.lang.management.ManagementFactory;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Steady traffic at a fixed rate, spread round-robin over the instances in rotation, as a
 * load balancer would. Every request is counted and timed; a request that fails because
 * the instance it was sent to was killed under it is counted apart.
 */
final class Traffic {

	private static final int MAX_MESSAGES = 20;

	private static final long SLOW_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

	private static final int MAX_SLOW = 10_000;

	private static final DateTimeFormatter SECOND = DateTimeFormatter.ofPattern("HH:mm:ss");

	private final Workload workload;

	private final int rate;

	private final List<ServiceInstance> rotation = new CopyOnWriteArrayList<>();

	private final AtomicInteger next = new AtomicInteger();

	private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

	private final ExecutorService workers;

	private final Semaphore concurrency;

	private final AtomicLong sent = new AtomicLong();

	private final AtomicLong skipped = new AtomicLong();

	private final AtomicLong failed = new AtomicLong();

	private final AtomicLong staleReads = new AtomicLong();

	private final AtomicLong killedInFlight = new AtomicLong();

	private final AtomicLong warmUps = new AtomicLong();

	private final ConcurrentLinkedQueue<String> messages = new ConcurrentLinkedQueue<>();

	private final ConcurrentLinkedQueue<SlowRequest> slow = new ConcurrentLinkedQueue<>();

	private final Object latencyMonitor = new Object();

	private long[] latencies = new long[1 << 16];

	private int latencyCount;

	private volatile long startedAt;

	private volatile long stoppedAt;

	private volatile long cpuAtStart = -1;

	private volatile long cpuAtStop = -1;

	Traffic(Workload workload, int rate, int threads) {
		this.workload = workload;
		this.rate = rate;
		this.workers = Executors.newFixedThreadPool(threads);
		this.concurrency = new Semaphore(threads);
	}

	void add(ServiceInstance instance) {
		this.rotation.add(instance);
	}

	/**
	 * Take an instance out of rotation and wait until no request is in flight on it.
	 * @param instance the instance
	 */
	void remove(ServiceInstance instance) {
		this.rotation.remove(instance);
		instance.removedFromRotation();
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
		while (instance.inFlight().get() > 0 && System.nanoTime() < deadline) {
			sleep(5);
		}
	}

	void start() {
		this.cpuAtStart = processCpuNanos();
		this.startedAt = System.nanoTime();
		long period = TimeUnit.SECONDS.toNanos(1) / this.rate;
		this.scheduler.scheduleAtFixedRate(this::send, 0, period, TimeUnit.NANOSECONDS);
	}

	void stop() throws InterruptedException {
		this.scheduler.shutdownNow();
		this.scheduler.awaitTermination(10, TimeUnit.SECONDS);
		this.workers.shutdown();
		this.workers.awaitTermination(60, TimeUnit.SECONDS);
		if (this.stoppedAt == 0) {
			this.stoppedAt = System.nanoTime();
			this.cpuAtStop = processCpuNanos();
		}
	}

	/**
	 * Return the CPU this program (the load generator and everything else it does:
	 * warm-ups, polling the instances) used while the traffic ran, in cores: 1.0 is one
	 * core busy all the time.
	 * @return the cores used on average, or -1 if the JVM does not tell
	 */
	double clientCores() {
		long start = this.cpuAtStart;
		long end = (this.cpuAtStop >= 0) ? this.cpuAtStop : processCpuNanos();
		long wall = ((this.stoppedAt != 0) ? this.stoppedAt : System.nanoTime()) - this.startedAt;
		return (start < 0 || end < 0 || wall <= 0) ? -1 : (double) (end - start) / wall;
	}

	private static long processCpuNanos() {
		return (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os)
				? os.getProcessCpuTime() : -1;
	}

	private void send() {
		if (!this.concurrency.tryAcquire()) {
			// Every worker is busy: the service is slower than the rate; count it rather
			// than queue without bound.
			this.skipped.incrementAndGet();
			return;
		}
		this.workers.execute(() -> {
			try {
				request();
			}
			finally {
				this.concurrency.release();
			}
		});
	}

	private void request() {
		ServiceInstance[] instances = this.rotation.toArray(new ServiceInstance[0]);
		if (instances.length == 0) {
			this.skipped.incrementAndGet();
			return;
		}
		ServiceInstance instance = instances[Math.floorMod(this.next.getAndIncrement(), instances.length)];
		instance.inFlight().incrementAndGet();
		long start = System.nanoTime();
		Workload.Outcome outcome;
		try {
			outcome = this.workload.request(instance.target());
		}
		catch (RuntimeException ex) {
			outcome = Workload.Outcome.failed(ex.toString());
		}
		finally {
			instance.inFlight().decrementAndGet();
		}
		long elapsed = System.nanoTime() - start;
		this.sent.incrementAndGet();
		if (outcome.ok()) {
			record(elapsed);
			if (elapsed > SLOW_NANOS && this.slow.size() < MAX_SLOW) {
				this.slow.add(new SlowRequest(LocalTime.now().minusNanos(elapsed).truncatedTo(ChronoUnit.SECONDS),
						instance.name(), elapsed / 1e6));
			}
		}
		else if (outcome.unanswered() && instance.wasKilledUnder(start)) {
			this.killedInFlight.incrementAndGet();
		}
		else {
			(outcome.staleRead() ? this.staleReads : this.failed).incrementAndGet();
			if (this.messages.size() < MAX_MESSAGES) {
				this.messages.add(instance.name() + ": " + outcome.failure());
			}
		}
	}

	boolean inRotation(ServiceInstance instance) {
		return this.rotation.contains(instance);
	}

	/**
	 * Send requests to an instance before it joins the rotation, as a readiness check
	 * with warm-up would, several at a time. They are counted, and their failures too,
	 * but they are not part of the latency figures.
	 * @param instance the instance
	 * @param requests how many requests to send
	 * @param threads how many to send at once
	 * @return the 99th percentile of their latency, in milliseconds
	 */
	double warmUp(ServiceInstance instance, int requests, int threads) {
		long[] latencies = warmUpRound(instance, requests, threads);
		if (latencies.length == 0) {
			return Double.MAX_VALUE;
		}
		Arrays.sort(latencies);
		return latencies[(int) Math.ceil(0.99 * latencies.length) - 1] / 1e6;
	}

	private long[] warmUpRound(ServiceInstance instance, int requests, int threads) {
		AtomicInteger remaining = new AtomicInteger(requests);
		long[] latencies = new long[requests];
		AtomicInteger answered = new AtomicInteger();
		ExecutorService executor = Executors.newFixedThreadPool(threads);
		try {
			for (int i = 0; i < threads; i++) {
				executor.execute(() -> {
					while (remaining.getAndDecrement() > 0) {
						long start = System.nanoTime();
						Workload.Outcome outcome = this.workload.request(instance.target());
						long elapsed = System.nanoTime() - start;
						this.warmUps.incrementAndGet();
						if (outcome.ok()) {
							latencies[answered.getAndIncrement()] = elapsed;
						}
						else {
							(outcome.staleRead() ? this.staleReads : this.failed).incrementAndGet();
							if (this.messages.size() < MAX_MESSAGES) {
								this.messages.add(instance.name() + " (warm-up): " + outcome.failure());
							}
						}
					}
				});
			}
			executor.shutdown();
			executor.awaitTermination(1, TimeUnit.HOURS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			executor.shutdownNow();
		}
		return Arrays.copyOf(latencies, answered.get());
	}

	long warmUps() {
		return this.warmUps.get();
	}

	private void record(long nanos) {
		synchronized (this.latencyMonitor) {
			if (this.latencyCount == this.latencies.length) {
				this.latencies = Arrays.copyOf(this.latencies, this.latencies.length * 2);
			}
			this.latencies[this.latencyCount++] = nanos;
		}
	}

	long sent() {
		return this.sent.get();
	}

	long skipped() {
		return this.skipped.get();
	}

	long failed() {
		return this.failed.get();
	}

	long staleReads() {
		return this.staleReads.get();
	}

	long killedInFlight() {
		return this.killedInFlight.get();
	}

	List<String> messages() {
		return new ArrayList<>(this.messages);
	}

	double achievedRate() {
		long end = (this.stoppedAt != 0) ? this.stoppedAt : System.nanoTime();
		return this.sent.get() / ((end - this.startedAt) / 1e9);
	}

	/**
	 * Return latency percentiles of the successful requests, in milliseconds.
	 * @param percentiles the percentiles, for example 50, 99 and 100
	 * @return the latencies
	 */
	double[] latencyMillis(double... percentiles) {
		long[] sorted;
		synchronized (this.latencyMonitor) {
			sorted = Arrays.copyOf(this.latencies, this.latencyCount);
		}
		Arrays.sort(sorted);
		double[] result = new double[percentiles.length];
		for (int i = 0; i < percentiles.length; i++) {
			if (sorted.length == 0) {
				continue;
			}
			int index = (int) Math.ceil(percentiles[i] / 100.0 * sorted.length) - 1;
			result[i] = sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1e6;
		}
		return result;
	}

	/**
	 * Return the successful requests slower than 100 ms, counted by the second they
	 * started in, with the slowest of each second and the instance it went to.
	 * @return one line per second, in time order
	 */
	List<String> slowRequestsBySecond() {
		Map<LocalTime, List<SlowRequest>> bySecond = new TreeMap<>();
		this.slow.forEach(
				(request) -> bySecond.computeIfAbsent(request.second(), (second) -> new ArrayList<>()).add(request));
		List<String> lines = new ArrayList<>();
		bySecond.forEach((second, requests) -> {
			SlowRequest slowest = requests.stream().max((a, b) -> Double.compare(a.millis(), b.millis())).orElseThrow();
			lines.add(String.format("%s %4d slower than 100 ms, slowest %7.1f ms (%s)", SECOND.format(second),
					requests.size(), slowest.millis(), slowest.instance()));
		});
		return lines;
	}

	private static void sleep(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	private record SlowRequest(LocalTime second, String instance, double millis) {

	}

}
