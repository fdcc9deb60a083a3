package dev.zdm.phase;

import java.util.Arrays;

import javax.sql.DataSource;

import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.util.ClassUtils;

import dev.zdm.autoconfigure.ZdmProperties;

/**
 * Beans of {@link dev.zdm.autoconfigure.ZdmDualWriteAutoConfiguration}, which imports
 * this configuration by name (its types are package-private).
 */
@Configuration(proxyBeanMethods = false)
class ZdmDualWriteConfiguration {

	@Bean
	static DualWriteRepositoryRegistrar zdmDualWriteRepositoryRegistrar() {
		return new DualWriteRepositoryRegistrar();
	}

	@Bean
	@ConditionalOnMissingBean({ PhaseController.class, FixedPhaseRouting.class })
	FixedPhaseRouting zdmFixedPhaseRouting(ZdmProperties properties, ConfigurableListableBeanFactory beanFactory) {
		if (!properties.isEnabled()) {
			return FixedPhaseRouting.disabled(() -> MigrationDefinitions.from(properties));
		}
		ClassLoader classLoader = beanFactory.getBeanClassLoader();
		if (!ClassUtils.isPresent("org.flywaydb.core.Flyway", classLoader)) {
			return FixedPhaseRouting.unavailable("Flyway is not on the class path",
					"Add org.flywaydb:flyway-core and org.flywaydb:flyway-database-postgresql (the zdm starter "
							+ "brings both).");
		}
		if (!ClassUtils.isPresent("org.springframework.jdbc.core.JdbcTemplate", classLoader)) {
			return FixedPhaseRouting.unavailable("Spring JDBC is not on the class path",
					"Add org.springframework.boot:spring-boot-starter-jdbc (the zdm starter brings it).");
		}
		String[] dataSources = beanFactory.getBeanNamesForType(DataSource.class, true, false);
		if (dataSources.length == 0) {
			return FixedPhaseRouting.unavailable("the application has no DataSource",
					"Configure spring.datasource.url (or define a DataSource bean) for the PostgreSQL database the "
							+ "migration runs on.");
		}
		if (dataSources.length > 1) {
			return FixedPhaseRouting.unavailable(
					"the application has " + dataSources.length + " DataSource beans " + Arrays.toString(dataSources)
							+ " and zdm runs on a single one",
					"Mark the DataSource of the database the migration runs on with @Primary.");
		}
		return FixedPhaseRouting.unavailable("zdm's auto-configuration did not start",
				"Start the application with --debug and look for ZdmAutoConfiguration in the condition evaluation "
						+ "report.");
	}

}
