package dev.zdm.autoconfigure;

import java.util.Arrays;

import javax.sql.DataSource;

import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.util.ClassUtils;

import dev.zdm.internal.dualwrite.DualWriteRepositoryRegistrar;
import dev.zdm.internal.dualwrite.FixedPhaseRouting;
import dev.zdm.internal.fleet.PhaseController;

/**
 * {@link org.springframework.boot.autoconfigure.EnableAutoConfiguration
 * Auto-configuration} for the dual-write repository proxies. Unlike
 * {@link ZdmAutoConfiguration} it never backs off, so that every repository interface
 * with implementations marked {@link dev.zdm.dualwrite.ZdmRepository @ZdmRepository}
 * always has a primary bean: routed by the phase controller when zdm runs, at the
 * requested phase when {@code zdm.enabled=false}, and refused at start-up with the reason
 * when zdm is enabled but could not start.
 */
@AutoConfiguration(after = ZdmAutoConfiguration.class)
@EnableConfigurationProperties(ZdmProperties.class)
public final class ZdmDualWriteAutoConfiguration {

	@Bean
	static DualWriteRepositoryRegistrar zdmDualWriteRepositoryRegistrar() {
		return new DualWriteRepositoryRegistrar();
	}

	@Bean
	@ConditionalOnMissingBean({ PhaseController.class, FixedPhaseRouting.class })
	FixedPhaseRouting zdmFixedPhaseRouting(ZdmProperties properties, ConfigurableListableBeanFactory beanFactory,
			Environment environment) {
		if (!properties.isEnabled()) {
			return FixedPhaseRouting.disabled(() -> {
				MigrationPropertyNames.check(environment);
				return MigrationDefinitions.from(properties);
			});
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
					"Set zdm.data-source to the name of the DataSource bean of the database the migration runs on, "
							+ "or mark that bean @Primary.");
		}
		return FixedPhaseRouting.unavailable("zdm's auto-configuration did not start",
				"Start the application with --debug and look for ZdmAutoConfiguration in the condition evaluation "
						+ "report.");
	}

}
