package dev.zdm.actuate.endpoint;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.backfill.BackfillOverrideRepository;
import dev.zdm.internal.backfill.JdbcBackfillService;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests what the heartbeat's log line, the endpoint's {@code lastHeartbeatError} and a
 * refused write operation say when the database is reachable but fails the heartbeat's
 * write, as with its disk full (staged by a trigger on {@code zdm_instance} that raises
 * PostgreSQL's {@code disk_full}, 53100, with its words): an outside run was told the
 * database was "unreachable", with the whole twenty-line UPSERT before the cause.
 */
@ExtendWith(OutputCaptureExtension.class)
class ZdmEndpointHeartbeatFailureTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void writeRefusedWhileHeartbeatsFailOnAReachableDatabaseNamesTheCauseNotTheStatement(CapturedOutput output) {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE full_users (id bigint PRIMARY KEY, email text, email_address text)");
		PhaseController controller = TestEngine.phaseController(postgres.dataSource(),
				List.of(BackfillFixtures.migration("full", "full_users", Phase.DUAL_WRITE,
						BackfillFixtures.settings(1000, 100, 1000, Duration.ZERO))),
				InstanceInfo.ofThisProcess("full-a", "test", "1"), TestFleet.SETTINGS, List.of());
		controller.start();
		try {
			ZdmEndpoint endpoint = new ZdmEndpoint(controller,
					new LockFiguresSampler(new LockInspector(postgres.dataSource())),
					new JdbcBackfillService(postgres.dataSource()), new DdlHistoryRepository(postgres.dataSource()),
					null, null, null, null, new BackfillOverrideRepository(postgres.dataSource()),
					new OperatorActionRepository(postgres.dataSource()), (event) -> {
					}, null);
			await().atMost(Duration.ofSeconds(20))
				.until(() -> controller.status("full").effective() == Phase.DUAL_WRITE);
			jdbc.execute("""
					CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$
					BEGIN
					  RAISE EXCEPTION 'could not extend file "base/16384/16415": No space left on device'
					    USING ERRCODE = 'disk_full', HINT = 'Check free disk space.';
					END $$""");
			jdbc.execute("CREATE TRIGGER full_disk BEFORE INSERT OR UPDATE ON zdm_instance "
					+ "FOR EACH ROW EXECUTE FUNCTION full_disk()");
			await().atMost(Duration.ofSeconds(20)).until(() -> controller.status("full").lastHeartbeatError() != null);
			String error = endpoint.migration("full").lastHeartbeatError();
			assertThat(error).startsWith("ERROR: could not extend file \"base/16384/16415\": No space left on device")
				.contains("SQLSTATE 53100", "in INSERT INTO zdm_instance")
				.doesNotContain("PreparedStatementCallback", "excluded", "\n");
			assertThat(lines(output, "zdm: heartbeat for migration 'full' failed: ")).isNotEmpty()
				.allSatisfy((line) -> assertThat(line).contains("failed: ERROR: could not extend file")
					.doesNotContain("SQL [", "ON CONFLICT"));
			WebEndpointResponse<Object> refused = new ZdmEndpointWebExtension(endpoint).backfill("full", "pause",
					"night", SecurityContext.NONE);
			assertThat(refused.getStatus()).isEqualTo(503);
			assertThat(refused.getBody()).asString()
				.contains("zdm's heartbeats fail on the database of migration 'full' from this instance (ERROR: "
						+ "could not extend file", "No space left on device", "nothing was changed")
				.doesNotContain("unreachable", "PreparedStatementCallback", "ON CONFLICT");
			// once the heartbeats reach the database again, that is said too (an outside
			// run saw the WARN, then nothing)
			jdbc.execute("DROP TRIGGER full_disk ON zdm_instance");
			await().atMost(Duration.ofSeconds(20)).until(() -> controller.status("full").lastHeartbeatError() == null);
			assertThat(lines(output,
					"zdm: heartbeat for migration 'full' reaches the database again (the last one " + "written at "))
				.singleElement()
				.satisfies((line) -> assertThat(line).contains("; it failed: ERROR: could not extend file"));
			jdbc.execute("CREATE TRIGGER full_disk BEFORE INSERT OR UPDATE ON zdm_instance "
					+ "FOR EACH ROW EXECUTE FUNCTION full_disk()");
			// leaving the fleet fails the same way, and says so the same way
			controller.stop();
			assertThat(lines(output, "zdm: instance full-a could not leave the fleet (")).isNotEmpty()
				.allSatisfy((line) -> assertThat(line).contains("fleet (ERROR: could not extend file")
					.doesNotContain("SQL ["));
			jdbc.execute("DROP TRIGGER full_disk ON zdm_instance");
			controller.start();
			await().atMost(Duration.ofSeconds(20)).until(() -> controller.status("full").lastHeartbeatError() == null);
			assertThat(new ZdmEndpointWebExtension(endpoint).backfill("full", "pause", "night", SecurityContext.NONE)
				.getStatus()).isNotEqualTo(503);
		}
		finally {
			controller.stop();
		}
	}

	// this test's lines of the log: the output is the JVM's, which other test classes
	// write to at the same time
	private static List<String> lines(CapturedOutput output, String start) {
		return output.getOut().lines().filter((line) -> line.contains(start)).toList();
	}

}
