package dev.zdm.parcels;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.sample.deploy.InstanceJvm;
import dev.zdm.sample.deploy.RollingDeploy;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rolling-deploy script driving a service that is not the sample: the parcel service,
 * with its traffic described in {@code deploy/parcels-workload.json}
 * ({@code --workload-file}). Two instances, each a JVM of its own, replaced one at a time
 * through every phase of {@code parcels-recipient} under creates, changes, reads and
 * deletes; every acknowledged write is read back through the check the file gives for it.
 * Kept short: a few thousand rows, a low rate, one pass through the phases and no runner
 * killed ({@code RollingDeployTests} covers that on the sample).
 */
class ParcelServiceRollingDeployTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void workloadFileDrivesAnotherServiceThroughEveryPhaseWithoutAFailedRequestOrALostWrite() throws Exception {
		String[] database = postgres.springProperties();
		RollingDeploy.Options options = new RollingDeploy.Options()
			.set("command", String.join(" ", InstanceJvm.command(ParcelServiceApplication.class)))
			.set("args",
					String.join(" ", "--server.address=127.0.0.1", "--zdm.fleet.heartbeat-interval=500ms",
							"--zdm.fleet.timeout=10s", "--zdm.fleet.join-timeout=30s", "--logging.level.root=warn",
							"--logging.level.dev.zdm=info", "--spring.main.banner-mode=off",
							"--zdm.migrations.parcels-recipient.backfill.max-batch-size=500"))
			.set("migrations", "parcels-recipient")
			.set("workload-file", new File("src/test/resources/deploy/parcels-workload.json").getAbsolutePath())
			.set("ports", freePort() + "," + freePort())
			.set("jdbc-url", value(database[0]))
			.set("jdbc-user", value(database[1]))
			.set("jdbc-password", value(database[2]))
			.set("phases", "dual-write,backfill,read-new,contract")
			.set("kill-runner", "false")
			.set("rate", "40")
			.set("seed-rows", "2000")
			.set("warm-up-requests", "20")
			.set("warm-up-timeout", "1s")
			.set("dwell", "1s")
			.set("start-timeout", "600s")
			.set("phase-timeout", "600s")
			.set("work-dir", new File("target/rolling-deploy-parcels").getAbsolutePath());
		RollingDeploy.Report report = new RollingDeploy(options, System.out).run();
		assertThat(report.sequence()).isEqualTo("expand -> dual-write -> backfill -> read-new -> contract");
		assertThat(report.requests()).as("requests under traffic").isGreaterThan(100);
		assertThat(report.failures()).as("failed requests").isEmpty();
		assertThat(report.failed()).as("failed requests").isZero();
		assertThat(report.staleReads()).as("stale reads").isZero();
		assertThat(report.lostWrites()).as("lost writes").isEmpty();
		assertThat(report.writes().get("acknowledged writes")).isGreaterThan(30);
		assertThat(report.writes().get("entities written and read back at the end")).isGreaterThan(10);
		assertThat(report.disagreeingRows()).as("rows where old and new disagree")
			.containsOnlyKeys("parcels-recipient");
		assertThat(report.disagreeing()).as("rows where old and new disagree").isZero();
		assertThat(report.contractOnce()).as("contract DDL ran exactly once: " + report.contractRuns()).isTrue();
		assertThat(postgres.jdbc()
			.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'parcels'",
					String.class))
			.as("contracted")
			.contains("addressee")
			.doesNotContain("recipient");
	}

	private static String value(String property) {
		return property.substring(property.indexOf('=') + 1);
	}

	private static int freePort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

}
