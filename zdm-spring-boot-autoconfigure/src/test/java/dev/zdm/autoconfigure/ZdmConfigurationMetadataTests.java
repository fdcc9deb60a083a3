package dev.zdm.autoconfigure;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import org.springframework.core.io.ClassPathResource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that every {@code zdm.*} key has IDE metadata with its description.
 */
@Tag("no-database")
class ZdmConfigurationMetadataTests {

	@Test
	void everyKeyHasADescription() throws IOException {
		String metadata = read("META-INF/spring-configuration-metadata.json");
		for (String key : new String[] { "zdm.enabled", "zdm.instance-id", "zdm.fleet.heartbeat-interval",
				"zdm.fleet.timeout", "zdm.locks.show-query-literals", "zdm.ddl.require-allow-reason", "zdm.migrations",
				"zdm.schema", "zdm.data-source" }) {
			assertThat(metadata).contains("\"name\": \"" + key + "\"");
		}
		assertThat(metadata).contains("How often an instance heartbeats and recomputes its effective phases.")
			.contains("Whether a '-- zdm:allow <code>' comment that accepts an unsafe statement must give a reason");
		for (String key : new String[] { "zdm.migrations.values.phase", "\"value\": \"abandon\"",
				"Needs abandon-reason.", "\"target\": \"javax.sql.DataSource\"",
				"zdm.migrations.values.data-source" }) {
			assertThat(metadata).contains(key);
		}
		String properties = metadata.substring(metadata.indexOf("\"properties\""));
		assertThat(properties).as("a property without a description")
			.doesNotContainPattern("\"name\": \"zdm\\.[^\"]+\",\\s*\"type\": \"[^\"]+\",\\s*\"sourceType\"");
		assertThat(read("META-INF/spring-autoconfigure-metadata.properties"))
			.contains("dev.zdm.autoconfigure.ZdmAutoConfiguration");
	}

	private static String read(String path) throws IOException {
		try (InputStream in = new ClassPathResource(path).getInputStream()) {
			return new String(in.readAllBytes(), StandardCharsets.UTF_8);
		}
	}

}
