package dev.zdm.autoconfigure;

import java.time.Duration;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import dev.zdm.ddl.DdlHistoryRepository;
import dev.zdm.ddl.DdlSettings;
import dev.zdm.ddl.DdlStep;
import dev.zdm.ddl.ExpandContractRunner;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for the lock-safe DDL part of {@link ZdmAutoConfiguration}.
 */
class DdlAutoConfigurationTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties());

	@BeforeAll
	static void createTable() {
		postgres.jdbc().execute("CREATE TABLE subscribers (id bigint PRIMARY KEY, email text)");
	}

	@Test
	void ddlSettingsDefaultToAShortLockTimeout() {
		this.contextRunner.run((context) -> {
			assertThat(context).hasSingleBean(ExpandContractRunner.class).hasSingleBean(DdlHistoryRepository.class);
			DdlSettings settings = context.getBean(DdlSettings.class);
			assertThat(settings.lockTimeout()).isLessThanOrEqualTo(Duration.ofMillis(100));
			assertThat(settings).isEqualTo(DdlSettings.defaults());
		});
	}

	@Test
	void ddlSettingsCanBeConfigured() {
		this.contextRunner
			.withPropertyValues("zdm.ddl.lock-timeout=50ms", "zdm.ddl.statement-timeout=1m", "zdm.ddl.max-attempts=7",
					"zdm.ddl.initial-backoff=20ms", "zdm.ddl.max-backoff=2s", "zdm.ddl.jitter=0.25")
			.run((context) -> assertThat(context.getBean(DdlSettings.class)).isEqualTo(new DdlSettings(
					Duration.ofMillis(50), Duration.ofMinutes(1), 7, Duration.ofMillis(20), Duration.ofSeconds(2), 0.25)));
	}

	@Test
	void expandScriptsFromTheClasspathRunAtStartUp() {
		this.contextRunner
			.withPropertyValues("zdm.migrations.subscribers-email.table=subscribers",
					"zdm.migrations.subscribers-email.up.email_address=lower(email)",
					"zdm.migrations.subscribers-email.expand=classpath:db/zdm/subscribers-email/expand",
					"zdm.migrations.subscribers-email.contract=classpath:db/zdm/subscribers-email/contract")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(postgres.jdbc()
					.queryForObject("SELECT count(*) FROM pg_attribute WHERE attrelid = 'subscribers'::regclass "
							+ "AND attname = 'email_address'", Integer.class)).isOne();
				assertThat(context.getBean(DdlHistoryRepository.class).status("subscribers-email", 1)
					.step(DdlStep.EXPAND)
					.isDone()).isTrue();
			});
	}

	@Test
	void unsafeExpandScriptFailsStartUpUnlessAllowed() {
		ApplicationContextRunner unsafe = this.contextRunner.withPropertyValues(
				"zdm.migrations.subscribers-index.table=subscribers",
				"zdm.migrations.subscribers-index.expand=classpath:db/zdm/subscribers-index/expand");
		unsafe.run((context) -> assertThat(context).getFailure()
			.rootCause()
			.isInstanceOf(ZdmConfigurationException.class)
			.hasMessageContaining("CREATE INDEX subscribers_email ON subscribers (email)")
			.hasMessageContaining("(create-index)"));
		unsafe.withPropertyValues("zdm.migrations.subscribers-index.allow-unsafe=create-index")
			.run((context) -> assertThat(context).hasNotFailed());
	}

	@Test
	void unknownAllowanceFailsStartUp() {
		this.contextRunner
			.withPropertyValues("zdm.migrations.bad.table=subscribers", "zdm.migrations.bad.allow-unsafe=create-indexes")
			.run((context) -> assertThat(context).getFailure()
				.rootCause()
				.isInstanceOf(ZdmConfigurationException.class)
				.hasMessageContaining("unknown unsafe operation 'create-indexes'"));
	}

}
