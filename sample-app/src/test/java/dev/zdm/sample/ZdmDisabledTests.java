package dev.zdm.sample;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.client.RestClient;

import dev.zdm.test.PostgresExtension;

import static dev.zdm.sample.InstanceHttp.client;
import static dev.zdm.sample.InstanceHttp.delete;
import static dev.zdm.sample.InstanceHttp.get;
import static dev.zdm.sample.InstanceHttp.put;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that the sample starts and serves with {@code zdm.enabled=false}, through the
 * side docs/dual-write.md documents: the requested phase, fixed, with {@code read-new}
 * routed as {@code backfill} and {@code contract} on the new side only, and nothing of
 * zdm in the database. The methods run in order: the last one contracts the schema by
 * hand.
 */
@Isolated
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ZdmDisabledTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	@Order(1)
	void startsWithZdmDisabledAndServesThroughTheOldSide() {
		try (ConfigurableApplicationContext context = start("zdm.enabled=false")) {
			assertThat(context.getBean(CustomerRepository.class))
				.hasToString("Dual-write " + CustomerRepository.class.getName() + " for migration 'customers-email'");
			RestClient client = client(context);
			long id = create(client, "Ada", "Ada@Example.COM");
			assertThat(get(client, "/customers/" + id).getBody()).contains("\"email\":\"Ada@Example.COM\"");
			assertThat(put(client, "/customers/" + id + "/email", "{\"email\":\"Ada@Example.ORG\"}").getStatusCode()
				.value()).isEqualTo(204);
			assertThat(jdbc().queryForObject("SELECT email FROM customers WHERE id = ?", String.class, id))
				.isEqualTo("Ada@Example.ORG");
			long other = create(client, "Bob", "Bob@Example.COM");
			assertThat(delete(client, "/customers/" + other).getStatusCode().value()).isEqualTo(204);
			assertThat(get(client, "/customers/count").getBody()).isEqualTo("1");
			assertThat(get(client, "/actuator/zdm").getStatusCode().value()).isEqualTo(404);
		}
		assertThat(columns()).as("no expand DDL ran")
			.containsExactly("id", "name", "email", "created_at", "address_street", "address_city");
		assertThatZdmSentNothingToTheDatabase();
	}

	@Test
	@Order(2)
	void readNewRequestedWithZdmDisabledStillReadsAndWritesTheOldSide() {
		try (ConfigurableApplicationContext context = start("zdm.enabled=false",
				"zdm.migrations.customers-email.phase=read-new")) {
			RestClient client = client(context);
			long id = create(client, "Cyd", "Cyd@Example.COM");
			assertThat(get(client, "/customers/" + id).getBody()).contains("\"email\":\"Cyd@Example.COM\"");
			assertThat(put(client, "/customers/" + id + "/email", "{\"email\":\"Cyd@Example.ORG\"}").getStatusCode()
				.value()).isEqualTo(204);
			assertThat(get(client, "/customers/" + id).getBody()).contains("\"email\":\"Cyd@Example.ORG\"");
			assertThat(delete(client, "/customers/" + id).getStatusCode().value()).isEqualTo(204);
		}
		assertThatZdmSentNothingToTheDatabase();
	}

	@Test
	@Order(3)
	void contractRequestedWithZdmDisabledServesTheNewSideOnly() {
		JdbcTemplate jdbc = jdbc();
		jdbc.execute("ALTER TABLE customers ADD COLUMN email_address text");
		jdbc.execute("UPDATE customers SET email_address = lower(email)");
		jdbc.execute("ALTER TABLE customers DROP COLUMN email");
		try (ConfigurableApplicationContext context = start("zdm.enabled=false",
				"zdm.migrations.customers-email.phase=contract")) {
			RestClient client = client(context);
			assertThat(get(client, "/customers/count").getBody()).isEqualTo("1");
			long id = create(client, "Dee", "Dee@Example.COM");
			assertThat(get(client, "/customers/" + id).getBody()).contains("\"email\":\"dee@example.com\"");
			assertThat(put(client, "/customers/" + id + "/email", "{\"email\":\"Dee@Example.ORG\"}").getStatusCode()
				.value()).isEqualTo(204);
			assertThat(get(client, "/customers/" + id).getBody()).contains("\"email\":\"dee@example.org\"");
			assertThat(delete(client, "/customers/" + id).getStatusCode().value()).isEqualTo(204);
		}
		assertThatZdmSentNothingToTheDatabase();
	}

	private static void assertThatZdmSentNothingToTheDatabase() {
		assertThat(jdbc().queryForList("SELECT relname FROM pg_class WHERE relname LIKE 'zdm%'", String.class))
			.as("zdm's tables")
			.isEmpty();
		assertThat(jdbc().queryForObject("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal", Integer.class))
			.as("triggers")
			.isZero();
	}

	private static List<String> columns() {
		return jdbc().queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'customers' "
				+ "ORDER BY ordinal_position", String.class);
	}

	private static JdbcTemplate jdbc() {
		return postgres.jdbc();
	}

	private static ConfigurableApplicationContext start(String... extra) {
		String[] arguments = Stream.of(Stream.of(postgres.springProperties()),
				Stream.of("server.port=0", "spring.main.banner-mode=off", "logging.level.root=warn"), Stream.of(extra))
			.flatMap((stream) -> stream)
			.map((property) -> "--" + property)
			.toArray(String[]::new);
		return new SpringApplicationBuilder(SampleApplication.class).run(arguments);
	}

	private static long create(RestClient client, String name, String email) {
		ResponseEntity<Customer> created = client.post()
			.uri("/customers")
			.contentType(MediaType.APPLICATION_JSON)
			.body("{\"name\":\"" + name + "\",\"email\":\"" + email + "\"}")
			.retrieve()
			.toEntity(Customer.class);
		assertThat(created.getStatusCode().value()).isEqualTo(201);
		assertThat(created.getBody()).isNotNull();
		return created.getBody().id();
	}

}
