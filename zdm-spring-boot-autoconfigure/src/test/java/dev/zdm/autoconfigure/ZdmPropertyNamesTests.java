package dev.zdm.autoconfigure;

import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that the refusal of unknown {@code zdm.*} properties leaves environment variables
 * and JVM system properties alone, whose names other tools may share (the refusals
 * themselves are in {@link ZdmDeclarationFailureTests}). A database of its own: the
 * context starts and creates zdm's tables.
 */
class ZdmPropertyNamesTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties());

	@BeforeAll
	static void createApplicationTable() {
		postgres.jdbc().execute("CREATE TABLE users (id bigint PRIMARY KEY, email text)");
	}

	@Test
	void environmentVariablesAndSystemPropertiesUnderZdmThatNoSettingTakesAreLeftToOtherTools() {
		this.contextRunner.withPropertyValues("zdm.migrations.m.table=users").withInitializer((context) -> {
			context.getEnvironment()
				.getPropertySources()
				.addFirst(new SystemEnvironmentPropertySource(
						StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, Map.of("ZDM_HOME", "/opt/zdm")));
			context.getEnvironment()
				.getPropertySources()
				.addFirst(new MapPropertySource(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME,
						Map.of("zdm.test.postgres-version", "17")));
		}).run((context) -> assertThat(context).hasNotFailed());
	}

}
