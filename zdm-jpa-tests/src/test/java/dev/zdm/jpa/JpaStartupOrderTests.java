package dev.zdm.jpa;

import java.util.ArrayList;
import java.util.List;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration;
import org.springframework.boot.hibernate.autoconfigure.HibernateJpaAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;

import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.jpa.customers.CustomerRepository;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The order between zdm's phase controller and the JPA {@code EntityManagerFactory} at
 * start-up.
 */
class JpaStartupOrderTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@BeforeAll
	static void createTables() {
		Flyway.configure().dataSource(postgres.dataSource()).locations("classpath:db/migration").load().migrate();
	}

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, FlywayAutoConfiguration.class,
				HibernateJpaAutoConfiguration.class, ZdmAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties())
		.withPropertyValues("spring.flyway.enabled=false");

	@Test
	void entityManagerFactoryWaitsForThePhaseController() {
		this.contextRunner.run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(context.getBeanFactory().getBeanDefinition("entityManagerFactory").getDependsOn())
				.contains("zdmPhaseController");
		});
	}

	@Test
	void entityManagerFactoryDoesNotWaitForThePhaseControllerWhenJpaInitializesTheDatabase() {
		this.contextRunner.withPropertyValues("spring.jpa.defer-datasource-initialization=true").run((context) -> {
			assertThat(context).hasNotFailed();
			String[] dependsOn = context.getBeanFactory().getBeanDefinition("entityManagerFactory").getDependsOn();
			assertThat((dependsOn != null) ? dependsOn : new String[0]).doesNotContain("zdmPhaseController");
		});
	}

	@Test
	void registersNoDependencyWithoutSpringBootJpa() {
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
			.withClassLoader(new FilteredClassLoader("org.springframework.boot.jpa"))
			.withPropertyValues(postgres.springProperties())
			.run((context) -> assertThat(context).hasNotFailed()
				.hasSingleBean(PhaseController.class)
				.doesNotHaveBean("zdmEntityManagerFactoryDependsOnPostProcessor"));
	}

	/**
	 * On a database where the expand has not run yet, Hibernate validates entities of
	 * both shapes at start-up: it sees the new columns because zdm ran the expand before
	 * the {@code EntityManagerFactory} was created.
	 */
	@Test
	void schemaValidationAtStartUpSeesTheColumnsTheExpandAdds() {
		List<String> properties = new ArrayList<>(List.of(postgres.springProperties()));
		properties.addAll(List.of("spring.flyway.enabled=false", "spring.jpa.hibernate.ddl-auto=validate",
				"zdm.fleet.heartbeat-interval=200ms"));
		try (ConfigurableApplicationContext context = new SpringApplicationBuilder(JpaServiceApplication.class)
			.properties(properties.toArray(String[]::new))
			.run()) {
			assertThat(context.getBean(PhaseController.class).effectivePhase("customers-email"))
				.isEqualTo(Phase.EXPAND);
			CustomerRepository customers = context.getBean(CustomerRepository.class);
			long id = customers.create("customer", "Validated@Example.com", 100).id();
			assertThat(postgres.jdbc()
				.queryForObject("SELECT email_address FROM customers WHERE id = ?", String.class, id))
				.isEqualTo("validated@example.com");
		}
	}

}
