package dev.zdm.sample;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.sample.deploy.InstanceJvm;
import dev.zdm.sample.deploy.RollingDeploy;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rolling-deploy script ({@link RollingDeploy}, run by
 * {@code scripts/rolling-deploy.sh}), shortened: fewer rows, a lower rate and shorter
 * dwells. Two instances of the sample, each a JVM of its own, on one database under
 * steady inserts, updates, deletes and reads, replaced one at a time through every phase
 * of both the sample's migrations (one inside {@code customers}, one into
 * {@code customer_addresses}), one phase back and forward again, with the backfill runner
 * killed with SIGKILL midway. No request may fail (apart from those in flight on the
 * killed instance), no read may be stale, no acknowledged write may be lost, old and new
 * must agree before contract, and the contract DDL must run exactly once. Latency is
 * printed, not asserted.
 */
@Order(1)
class RollingDeployTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void twoInstancesMoveThroughEveryPhaseUnderSteadyTrafficWithoutAFailedRequestOrALostWrite() throws Exception {
		String[] database = postgres.springProperties();
		RollingDeploy.Options options = new RollingDeploy.Options()
			.set("command", String.join(" ", InstanceJvm.command(SampleApplication.class)))
			.set("args",
					String.join(" ", "--server.address=127.0.0.1", "--zdm.fleet.heartbeat-interval=500ms",
							"--zdm.fleet.timeout=10s", "--zdm.fleet.join-timeout=30s", "--logging.level.root=warn",
							"--logging.level.dev.zdm=info", "--spring.main.banner-mode=off",
							"--zdm.migrations.customers-email.backfill.min-batch-size=50",
							"--zdm.migrations.customers-email.backfill.initial-batch-size=100",
							"--zdm.migrations.customers-email.backfill.max-batch-size=100",
							"--zdm.migrations.customers-email.backfill.pause=100ms",
							"--zdm.migrations.customers-address.backfill.min-batch-size=50",
							"--zdm.migrations.customers-address.backfill.initial-batch-size=100",
							"--zdm.migrations.customers-address.backfill.max-batch-size=100",
							"--zdm.migrations.customers-address.backfill.pause=100ms"))
			.set("migrations", "customers-email,customers-address")
			.set("ports", freePort() + "," + freePort())
			.set("jdbc-url", value(database[0]))
			.set("jdbc-user", value(database[1]))
			.set("jdbc-password", value(database[2]))
			.set("rate", "60")
			.set("seed-rows", "10000")
			.set("warm-up-requests", "20")
			.set("warm-up-timeout", "1s")
			.set("dwell", "1s")
			.set("start-timeout", "600s")
			.set("phase-timeout", "600s")
			.set("work-dir", new File("target/rolling-deploy-test").getAbsolutePath());
		ByteArrayOutputStream output = new ByteArrayOutputStream();
		PrintStream out = new PrintStream(new TeeOutputStream(output, System.out), true, StandardCharsets.UTF_8);
		RollingDeploy.Report report = new RollingDeploy(options, out).run();
		assertThat(report.killed()).as("backfill runner killed midway").isNotNull();
		assertThat(report.requests()).as("requests under traffic").isGreaterThan(500);
		assertThat(report.failures()).as("failed requests").isEmpty();
		assertThat(report.failed()).as("failed requests").isZero();
		assertThat(report.staleReads()).as("stale reads").isZero();
		assertThat(report.lostWrites()).as("lost writes").isEmpty();
		assertThat(report.writes().get("acknowledged writes")).isGreaterThan(200);
		assertThat(report.disagreeingRows()).as("rows where old and new disagree")
			.containsOnlyKeys("customers-email", "customers-address");
		assertThat(report.disagreeing()).as("rows where old and new disagree").isZero();
		assertThat(report.contractOnce()).as("contract DDL ran exactly once: " + report.contractRuns()).isTrue();
		assertThat(report.sequence())
			.isEqualTo("expand -> dual-write -> backfill -> read-new -> backfill -> read-new -> contract");
		assertThat(postgres.jdbc()
			.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'",
					String.class))
			.as("contracted")
			.doesNotContain("email", "address_street", "address_city")
			.contains("email_address");
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM customers c LEFT JOIN customer_addresses a ON a.customer_id = c.id "
					+ "WHERE a.customer_id IS NULL", Long.class))
			.as("customers without their address row")
			.isZero();
		assertThat(output.toString(StandardCharsets.UTF_8)).contains("failed requests:       0");
	}

	private static String value(String property) {
		return property.substring(property.indexOf('=') + 1);
	}

	private static int freePort() throws java.io.IOException {
		try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

	private static final class TeeOutputStream extends java.io.OutputStream {

		private final List<java.io.OutputStream> targets;

		TeeOutputStream(java.io.OutputStream... targets) {
			this.targets = List.of(targets);
		}

		@Override
		public void write(int b) throws java.io.IOException {
			for (java.io.OutputStream target : this.targets) {
				target.write(b);
			}
		}

		@Override
		public void write(byte[] bytes, int offset, int length) throws java.io.IOException {
			for (java.io.OutputStream target : this.targets) {
				target.write(bytes, offset, length);
			}
		}

	}

}
