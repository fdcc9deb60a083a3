package dev.zdm.sample;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.client.RestClient;

import dev.zdm.test.PostgresExtension;

import static dev.zdm.sample.InstanceHttp.client;
import static dev.zdm.sample.InstanceHttp.get;
import static dev.zdm.sample.InstanceHttp.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for {@code /actuator/zdm} over HTTP: what it shows, and its write operation off
 * by default, on when enabled, and refusing malformed requests with a message while
 * changing nothing.
 */
@Isolated
@ExtendWith(OutputCaptureExtension.class)
class ZdmEndpointWebTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void endpointShowsPhasesFleetBackfillAndDdlAndItsWriteOperationIsOffByDefault(CapturedOutput output) {
		try (ConfigurableApplicationContext context = start()) {
			assertThat(output).doesNotContain("the write operations of the zdm endpoint are on");
			RestClient client = client(context);
			// The expand runs in the background, then the phase climbs to backfill, which
			// then verifies.
			await().atMost(Duration.ofMinutes(2))
				.untilAsserted(() -> assertThat(get(client, "/actuator/zdm/customers-email").getBody())
					.contains("\"verified\":true"));
			String migration = get(client, "/actuator/zdm/customers-email").getBody();
			assertThat(migration).contains("\"requestedPhase\":\"backfill\"", "\"effectivePhase\":\"backfill\"",
					"\"table\":\"public.customers\"", "\"sync\":\"trigger\"", "\"backfill\":{", "\"ddl\":{",
					"\"fleet\":[", "\"locks\":{");
			assertThat(get(client, "/actuator/zdm").getBody()).contains("\"migrations\":{\"customers-email\"");
			ResponseEntity<String> unknown = get(client, "/actuator/zdm/no-such-migration");
			assertThat(unknown.getStatusCode().value()).isEqualTo(404);
			assertThat(unknown.getBody()).contains("No migration 'no-such-migration' is declared on this instance; "
					+ "the declared ones are customers-email");
			ResponseEntity<String> plan = client.get()
				.uri("/actuator/zdm/customers-email/plan")
				.accept(MediaType.APPLICATION_JSON)
				.retrieve()
				.toEntity(String.class);
			assertThat(plan.getStatusCode().value()).isEqualTo(200);
			assertThat(plan.getBody()).contains("\"plan\":{\"migrationId\":\"customers-email\"",
					"\"source\":\"V1__add_email_address.sql\"", "\"status\":\"applied\"",
					"\"lock\":\"ACCESS EXCLUSIVE\"", "\"text\":\"zdm plan of migration 'customers-email'");
			ResponseEntity<String> text = client.get()
				.uri("/actuator/zdm/customers-email/plan")
				.accept(MediaType.TEXT_PLAIN)
				.retrieve()
				.toEntity(String.class);
			assertThat(text.getStatusCode().value()).isEqualTo(200);
			assertThat(text.getHeaders().getContentType().isCompatibleWith(MediaType.TEXT_PLAIN)).isTrue();
			assertThat(text.getBody()).startsWith("zdm plan of migration 'customers-email'")
				.contains("[applied] V1__add_email_address.sql #1: ALTER TABLE customers ADD COLUMN email_address text",
						"Phase contract: ", "[to run] V1__drop_email.sql #1: ALTER TABLE customers DROP COLUMN email");
			ResponseEntity<String> unknownView = get(client, "/actuator/zdm/customers-email/plans");
			assertThat(unknownView.getStatusCode().value()).isEqualTo(400);
			ResponseEntity<String> unknownPlan = get(client, "/actuator/zdm/no-such-migration/plan");
			assertThat(unknownPlan.getStatusCode().value()).isEqualTo(404);
			assertThat(unknownPlan.getBody()).contains("No migration 'no-such-migration' is declared on this instance");
			// not mapped with the default access: answered with how to turn them on
			ResponseEntity<String> pause = post(client, "/actuator/zdm/customers-email/pause");
			assertThat(pause.getStatusCode().is4xxClientError()).isTrue();
			assertThat(pause.getBody()).contains("the zdm endpoint's write operations are off",
					"management.endpoint.zdm.access=unrestricted", "Nothing was changed");
			assertThat(paused()).isFalse();
			ResponseEntity<String> tuning = post(client, "/actuator/zdm/customers-email/backfill/tuning/set",
					"{\"maxBatchSize\": 2000}");
			assertThat(tuning.getStatusCode().is4xxClientError()).isTrue();
			assertThat(tuning.getBody()).contains("the zdm endpoint's write operations are off");
			assertThat(overrides()).isEmpty();
		}
	}

	@Test
	void writeOperationPausesAndResumesWhenEnabledAndRefusesMalformedRequests(CapturedOutput output) {
		try (ConfigurableApplicationContext context = start("management.endpoint.zdm.access=unrestricted",
				"logging.level.dev.zdm.actuate.endpoint=info")) {
			// the sample has no Spring Security: writes open to whoever reaches the port
			assertThat(output).contains("the write operations of the zdm endpoint are on")
				.contains("Spring Security is not on the class path");
			RestClient client = client(context);
			await().atMost(Duration.ofMinutes(2))
				.until(() -> get(client, "/actuator/zdm/customers-email").getBody().contains("\"verified\":true"));
			ResponseEntity<String> paused = post(client, "/actuator/zdm/customers-email/pause");
			assertThat(paused.getStatusCode().value()).isEqualTo(200);
			assertThat(paused.getBody()).contains("\"paused\":true");
			assertThat(paused()).isTrue();
			// each action is in the log too, where an application keeps no audit events
			assertThat(output)
				.contains("zdm: operator action backfill.pause on migration 'customers-email' by anonymous");
			ResponseEntity<String> unknownAction = post(client, "/actuator/zdm/customers-email/stop");
			assertThat(unknownAction.getStatusCode().value()).isEqualTo(400);
			assertThat(unknownAction.getBody()).contains("Unknown backfill action 'stop': use pause, resume or verify");
			ResponseEntity<String> misspeltReason = post(client, "/actuator/zdm/customers-email/resume",
					"{\"reasn\": \"done\"}");
			assertThat(misspeltReason.getStatusCode().value()).isEqualTo(400);
			assertThat(misspeltReason.getBody()).contains("Unknown name 'reasn'", "This operation takes reason");
			assertThat(paused()).as("a request with an unknown name changes nothing").isTrue();
			ResponseEntity<String> notJson = post(client, "/actuator/zdm/customers-email/resume", "reason=done");
			assertThat(notJson.getStatusCode().value()).isEqualTo(400);
			assertThat(notJson.getBody()).contains("\"status\":400",
					"The request's body is not a JSON object of names and plain values", "Nothing was changed");
			ResponseEntity<String> notJsonType = client.post()
				.uri("/actuator/zdm/customers-email/resume")
				.contentType(MediaType.TEXT_PLAIN)
				.body("done")
				.retrieve()
				.toEntity(String.class);
			assertThat(notJsonType.getStatusCode().value()).isEqualTo(415);
			assertThat(notJsonType.getBody()).contains("take Content-Type: application/json",
					"this request said 'text/plain", "-H 'Content-Type: application/json'");
			ResponseEntity<String> noSuchOperation = post(client,
					"/actuator/zdm/customers-email/backfill/tuning/set/now");
			assertThat(noSuchOperation.getStatusCode().is4xxClientError()).isTrue();
			assertThat(noSuchOperation.getBody()).contains("is none of the zdm endpoint's write operations",
					"{id}/backfill/tuning/set");
			assertThat(paused()).as("a request Spring MVC refuses changes nothing").isTrue();
			// the URL says what runs: a body or a query giving the migration or the
			// action
			// would run another one, past a rule on the URL (Spring Security's)
			ResponseEntity<String> otherMigration = post(client, "/actuator/zdm/customers-email/resume",
					"{\"id\": \"customers-address\", \"reason\": \"via the body\"}");
			assertThat(otherMigration.getStatusCode().value()).isEqualTo(400);
			assertThat(otherMigration.getBody())
				.contains("The request's body or query gives 'id', which the URL gives");
			ResponseEntity<String> otherAction = post(client, "/actuator/zdm/customers-email/pause?action=resume");
			assertThat(otherAction.getStatusCode().value()).isEqualTo(400);
			assertThat(otherAction.getBody()).contains("gives 'action'");
			assertThat(paused()).as("a request that names another migration or action changes nothing").isTrue();
			assertThat(get(client, "/actuator/zdm/customers-email?id=customers-address").getStatusCode().value())
				.isEqualTo(400);
			ResponseEntity<String> securityContext = post(client, "/actuator/zdm/customers-email/resume",
					"{\"securityContext\": \"admin\"}");
			assertThat(securityContext.getStatusCode().value()).isEqualTo(400);
			assertThat(securityContext.getBody()).contains("Unknown name 'securityContext'");
			ResponseEntity<String> unknownMigration = post(client, "/actuator/zdm/orders-total/pause");
			assertThat(unknownMigration.getStatusCode().value()).isEqualTo(404);
			assertThat(unknownMigration.getBody()).contains("No migration 'orders-total' is declared");
			assertThat(paused()).as("a malformed request changes nothing").isTrue();
			assertThat(post(client, "/actuator/zdm/customers-email/resume").getBody()).contains("\"paused\":false");
			assertThat(paused()).isFalse();
			String tuning = "/actuator/zdm/customers-email/backfill/tuning/";
			ResponseEntity<String> tuned = post(client, tuning + "set",
					"{\"maxBatchSize\": 2000, \"pause\": \"50ms\", \"reason\": \"faster at night\"}");
			assertThat(tuned.getStatusCode().value()).isEqualTo(200);
			assertThat(tuned.getBody()).contains("\"overrides\":{\"maxBatchSize\":2000,\"pause\":\"50ms\"}",
					"\"setBy\":\"anonymous\"", "\"reason\":\"faster at night\"");
			assertThat(get(client, "/actuator/zdm/customers-email").getBody()).contains("\"tuning\":{\"declared\":{",
					"\"overrides\":{\"maxBatchSize\":2000,\"pause\":\"50ms\"}");
			ResponseEntity<String> walTuned = post(client, tuning + "set",
					"{\"maxWalRate\": \"64MB\", \"maxWalArchiveBacklog\": 8}");
			assertThat(walTuned.getStatusCode().value()).isEqualTo(200);
			assertThat(walTuned.getBody()).contains("\"overrides\":{\"maxBatchSize\":2000,\"pause\":\"50ms\","
					+ "\"maxWalArchiveBacklog\":8,\"maxWalRate\":\"64MB\"}");
			assertThat(get(client, "/actuator/zdm/customers-email").getBody()).contains("\"maxWalArchiveBacklog\":8",
					"\"maxWalRate\":\"64MB/s\"");
			ResponseEntity<String> negativeWalRate = post(client, tuning + "set", "{\"maxWalRate\": \"-1MB\"}");
			assertThat(negativeWalRate.getStatusCode().value()).isEqualTo(400);
			assertThat(negativeWalRate.getBody()).contains("maxWalRate is -1MB, which is out of range");
			assertThat(walOverrides()).as("a malformed request changes nothing").containsExactly("8 67108864");
			ResponseEntity<String> malformed = post(client, tuning + "set",
					"{\"maxBatchSize\": \"lots\", \"pause\": 0}");
			assertThat(malformed.getStatusCode().value()).isEqualTo(400);
			assertThat(malformed.getBody())
				.contains("maxBatchSize is 'lots', which is not a whole number such as 2000");
			ResponseEntity<String> outOfRange = post(client, tuning + "set", "{\"pause\": \"-1s\"}");
			assertThat(outOfRange.getStatusCode().value()).isEqualTo(400);
			assertThat(outOfRange.getBody()).contains("pause is -1s, which is out of range");
			// a misspelt setting is not left out silently: the request is refused whole
			ResponseEntity<String> misspelt = post(client, tuning + "set",
					"{\"maxBatchSise\": 3000, \"pause\": \"0ms\"}");
			assertThat(misspelt.getStatusCode().value()).isEqualTo(400);
			assertThat(misspelt.getBody()).contains("Unknown name 'maxBatchSise' in the request; nothing was changed",
					"This operation takes initialBatchSize, minBatchSize, maxBatchSize");
			assertThat(overrides()).as("a malformed request changes nothing").containsExactly("2000 00:00:00.05");
			// thousands of unknown names are named by count, not echoed back whole
			String manyNames = IntStream.range(0, 5_000)
				.mapToObj((i) -> "\"extra" + i + "\": 1")
				.collect(Collectors.joining(", ", "{", "}"));
			ResponseEntity<String> tooMany = post(client, tuning + "set", manyNames);
			assertThat(tooMany.getStatusCode().value()).isEqualTo(400);
			assertThat(tooMany.getBody()).contains("Unknown names 'extra0', 'extra1', ", "and 4990 more")
				.hasSizeLessThan(2_000);
			// the plan describes the backfill as it runs: with the live overrides
			assertThat(textPlan(client)).doesNotContain("at most 150 ms long");
			assertThat(post(client, tuning + "set", "{\"targetBatchDuration\": \"150ms\"}").getStatusCode().value())
				.isEqualTo(200);
			assertThat(textPlan(client)).contains("at most 150 ms long");
			assertThat(post(client, tuning + "clear", "{\"reason\": \"done\"}").getBody()).contains("\"overrides\":{}");
			assertThat(overrides()).containsExactly("null null");
			assertThat(walOverrides()).containsExactly("null null");
		}
	}

	private static ConfigurableApplicationContext start(String... extra) {
		String[] arguments = Stream
			.of(Stream.of(postgres.springProperties()),
					Stream.of("server.port=0", "spring.main.banner-mode=off", "logging.level.root=warn",
							"management.endpoints.web.exposure.include=health,zdm",
							"zdm.migrations.customers-email.phase=backfill", "zdm.fleet.heartbeat-interval=200ms",
							"zdm.fleet.timeout=2s"),
					Stream.of(extra))
			.flatMap((stream) -> stream)
			.map((property) -> "--" + property)
			.toArray(String[]::new);
		return new SpringApplicationBuilder(SampleApplication.class).run(arguments);
	}

	private static String textPlan(RestClient client) {
		return client.get()
			.uri("/actuator/zdm/customers-email/plan")
			.accept(MediaType.TEXT_PLAIN)
			.retrieve()
			.body(String.class);
	}

	private static List<String> overrides() {
		return postgres.jdbc()
			.queryForList("SELECT coalesce(max_batch_size::text, 'null') || ' ' || coalesce(pause::text, 'null') "
					+ "FROM zdm_backfill_override " + "WHERE migration_id = 'customers-email'", String.class);
	}

	private static List<String> walOverrides() {
		return postgres.jdbc()
			.queryForList("SELECT coalesce(max_wal_archive_backlog::text, 'null') || ' ' "
					+ "|| coalesce(max_wal_rate::text, 'null') FROM zdm_backfill_override "
					+ "WHERE migration_id = 'customers-email'", String.class);
	}

	private static boolean paused() {
		Boolean paused = postgres.jdbc()
			.query("SELECT paused FROM zdm_backfill WHERE migration_id = 'customers-email'",
					(rs) -> rs.next() ? rs.getBoolean(1) : Boolean.FALSE);
		return Boolean.TRUE.equals(paused);
	}

}
