package dev.zdm.autoconfigure;

import javax.sql.DataSource;

import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.ConfigurationPropertyState;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Whether zdm has a {@link DataSource} to run on, or must say why not: the single (or
 * primary) one, the one {@code zdm.data-source} names, or several with migrations
 * declared, in which case start-up fails saying to set {@code zdm.data-source} rather
 * than zdm silently doing nothing. With several, none chosen and no migrations declared,
 * zdm backs off as it does without a data source.
 */
class OnZdmDataSourceCondition extends AnyNestedCondition {

	OnZdmDataSourceCondition() {
		super(ConfigurationPhase.REGISTER_BEAN);
	}

	@ConditionalOnSingleCandidate(DataSource.class)
	static class SingleCandidate {

	}

	@ConditionalOnProperty("zdm.data-source")
	@ConditionalOnBean(DataSource.class)
	static class Named {

	}

	@Conditional(OnDeclaredMigrationsCondition.class)
	@ConditionalOnBean(DataSource.class)
	static class DeclaredMigrations {

	}

	static class OnDeclaredMigrationsCondition extends SpringBootCondition {

		private static final ConfigurationPropertyName MIGRATIONS = ConfigurationPropertyName.of("zdm.migrations");

		@Override
		public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
			for (ConfigurationPropertySource source : ConfigurationPropertySources.get(context.getEnvironment())) {
				if (source.containsDescendantOf(MIGRATIONS) == ConfigurationPropertyState.PRESENT) {
					return ConditionOutcome.match("zdm.migrations declares migrations");
				}
			}
			return ConditionOutcome.noMatch("zdm.migrations declares no migration");
		}

	}

}
