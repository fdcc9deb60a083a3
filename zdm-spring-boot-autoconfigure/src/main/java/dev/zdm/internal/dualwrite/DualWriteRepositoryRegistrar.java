package dev.zdm.internal.dualwrite;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.BeanDefinitionRegistryPostProcessor;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.core.Ordered;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.ResourceTransactionManager;
import org.springframework.util.ClassUtils;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;
import dev.zdm.internal.backfill.OwnPoolCalls;
import dev.zdm.internal.fleet.MigrationEngines;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Finds the beans marked with {@link ZdmRepository @ZdmRepository} and registers, for
 * each repository interface, a primary bean that routes its calls by the migration's
 * effective phase, or, when zdm's {@link PhaseController} does not run, as the
 * {@link FixedPhaseRouting} says. Everything that would stop a call from being routed (a
 * side without an implementation, two implementations of one side, a method that cannot
 * be classified) fails start-up here, before any bean is created.
 */
public class DualWriteRepositoryRegistrar implements BeanDefinitionRegistryPostProcessor, Ordered {

	/** The attribute of a routing bean's definition that holds its migration's id. */
	private static final String MIGRATION_ATTRIBUTE = DualWriteRepositoryRegistrar.class.getName() + ".migration";

	private static final List<String> FRAMEWORK_PACKAGES = List.of("java.", "javax.", "jakarta.", "kotlin.",
			"org.springframework.");

	@Override
	public void postProcessBeanDefinitionRegistry(BeanDefinitionRegistry registry) {
		if (!(registry instanceof ConfigurableListableBeanFactory beanFactory)) {
			return;
		}
		Map<Class<?>, Pair> pairs = new LinkedHashMap<>();
		for (String beanName : beanFactory.getBeanNamesForAnnotation(ZdmRepository.class)) {
			ZdmRepository marker = beanFactory.findAnnotationOnBean(beanName, ZdmRepository.class, false);
			Class<?> type = beanFactory.getType(beanName, false);
			if (marker == null || type == null) {
				continue;
			}
			Class<?> repository = repositoryInterface(beanName, type, marker);
			Pair pair = pairs.computeIfAbsent(repository, (key) -> new Pair(marker.migration()));
			if (!pair.migrationId.equals(marker.migration())) {
				throw new ZdmConfigurationException(marker.migration(),
						"repository " + repository.getName() + " has implementations marked for two migrations, '"
								+ pair.migrationId + "' and '" + marker.migration() + "'",
						"Mark the implementations of one repository interface with one migration.");
			}
			pair.add(marker.schema(), beanName);
		}
		pairs.forEach((repository, pair) -> register(registry, beanFactory, repository, pair));
	}

	/**
	 * Refuse a routing bean whose migration is not declared, before any instance joins
	 * the fleet or writes anything: an instance that joined with such a typo would count
	 * in the fleet's decisions until it failed.
	 * @param beanFactory the application's bean factory, its routing beans registered
	 * @param declared the ids of the declared migrations, of every data source
	 * @throws ZdmConfigurationException for the first routing bean whose migration is not
	 * declared
	 */
	public static void checkDeclared(ConfigurableListableBeanFactory beanFactory, Collection<String> declared) {
		for (String name : beanFactory.getBeanDefinitionNames()) {
			BeanDefinition definition = beanFactory.getBeanDefinition(name);
			if (definition.getAttribute(MIGRATION_ATTRIBUTE) instanceof String migrationId
					&& !declared.contains(migrationId) && definition instanceof RootBeanDefinition root) {
				throw DualWriteRepositoryFactory.undeclared(root.getBeanClass(), migrationId, declared);
			}
		}
	}

	@Override
	public void postProcessBeanFactory(ConfigurableListableBeanFactory beanFactory) {
	}

	@Override
	public int getOrder() {
		return Ordered.LOWEST_PRECEDENCE;
	}

	private void register(BeanDefinitionRegistry registry, ConfigurableListableBeanFactory beanFactory,
			Class<?> repository, Pair pair) {
		String oldBean = pair.single(repository, Schema.OLD);
		String newBean = pair.single(repository, Schema.NEW);
		String bothBean = pair.optional(repository, Schema.BOTH);
		RepositoryMethods.classify(repository, pair.migrationId);
		RootBeanDefinition definition = new RootBeanDefinition(repository);
		definition.setPrimary(true);
		definition.setDependsOn(
				(bothBean != null) ? new String[] { oldBean, newBean, bothBean } : new String[] { oldBean, newBean });
		definition.setAttribute(MIGRATION_ATTRIBUTE, pair.migrationId);
		definition
			.setInstanceSupplier(() -> create(beanFactory, repository, pair.migrationId, oldBean, newBean, bothBean));
		registry.registerBeanDefinition("zdmDualWrite" + repository.getSimpleName(), definition);
	}

	private static <T> T create(ConfigurableListableBeanFactory beanFactory, Class<T> repository, String migrationId,
			String oldBean, String newBean, @Nullable String bothBean) {
		Implementations<T> implementations = new Implementations<>(beanFactory.getBean(oldBean, repository),
				beanFactory.getBean(newBean, repository),
				(bothBean != null) ? beanFactory.getBean(bothBean, repository) : null);
		MigrationEngines engines = beanFactory.getBeanProvider(MigrationEngines.class).getIfAvailable();
		PhaseController otherController = (engines != null) ? engines.controllerFor(migrationId) : null;
		MigrationStateRepository otherStates = (engines != null) ? engines.statesFor(migrationId) : null;
		PhaseController phaseController = (otherController != null) ? otherController
				: beanFactory.getBeanProvider(PhaseController.class).getIfAvailable();
		if (phaseController == null) {
			FixedPhaseRouting routing = beanFactory.getBeanProvider(FixedPhaseRouting.class)
				.getIfAvailable(() -> FixedPhaseRouting.unavailable("its auto-configuration is not in this context",
						"Let Spring Boot's auto-configuration include dev.zdm.autoconfigure.ZdmAutoConfiguration."));
			return routing.create(repository, migrationId, implementations,
					() -> transactionManager(beanFactory, repository, migrationId));
		}
		// the application's data source, that its transaction manager runs on
		DataSource dataSource = OwnPoolCalls.application(phaseController.dataSource());
		PlatformTransactionManager transactionManager = transactionManagerOn(beanFactory, dataSource,
				otherController == null);
		MigrationStateRepository states = (otherStates != null) ? otherStates
				: beanFactory.getBean(MigrationStateRepository.class);
		DualWriteListener listener = DualWriteListener
			.of(beanFactory.getBeanProvider(DualWriteListener.class).orderedStream().toList());
		return DualWriteRepositoryFactory.create(repository, migrationId, implementations, phaseController,
				transactionManager, states, listener);
	}

	/**
	 * The transaction manager of the migration's database: the one whose resource is that
	 * data source; else, on zdm's own data source, the application's single (or primary)
	 * one as before several databases were supported; else one on the data source.
	 */
	private static PlatformTransactionManager transactionManagerOn(ConfigurableListableBeanFactory beanFactory,
			DataSource dataSource, boolean zdmDataSource) {
		ObjectProvider<PlatformTransactionManager> transactionManagers = beanFactory
			.getBeanProvider(PlatformTransactionManager.class);
		for (PlatformTransactionManager candidate : transactionManagers.orderedStream().toList()) {
			if (candidate instanceof ResourceTransactionManager resource
					&& resource.getResourceFactory() == dataSource) {
				return candidate;
			}
		}
		if (zdmDataSource) {
			return transactionManagers.getIfUnique(() -> new DataSourceTransactionManager(dataSource));
		}
		return new DataSourceTransactionManager(dataSource);
	}

	private static PlatformTransactionManager transactionManager(ConfigurableListableBeanFactory beanFactory,
			Class<?> repository, String migrationId) {
		PlatformTransactionManager transactionManager = beanFactory.getBeanProvider(PlatformTransactionManager.class)
			.getIfUnique();
		if (transactionManager != null) {
			return transactionManager;
		}
		DataSource dataSource = beanFactory.getBeanProvider(DataSource.class).getIfUnique();
		if (dataSource == null) {
			throw new ZdmConfigurationException(migrationId,
					"repository " + repository.getName() + " is routed by zdm, but the application has neither a "
							+ "single PlatformTransactionManager nor a single DataSource to run its writes in",
					"Define a PlatformTransactionManager bean, or a single (or @Primary) DataSource.");
		}
		return new DataSourceTransactionManager(dataSource);
	}

	private static Class<?> repositoryInterface(String beanName, Class<?> type, ZdmRepository marker) {
		Class<?> userType = ClassUtils.getUserClass(type);
		if (marker.repository() != void.class) {
			if (!marker.repository().isInterface() || !marker.repository().isAssignableFrom(userType)) {
				throw new ZdmConfigurationException(marker.migration(),
						"bean '" + beanName + "' (" + userType.getName()
								+ ") is marked with @ZdmRepository(repository = " + marker.repository().getName()
								+ ".class), which is not an interface it implements",
						"Set repository to the interface the routing bean should implement.");
			}
			return marker.repository();
		}
		Set<Class<?>> interfaces = ClassUtils.getAllInterfacesForClassAsSet(userType);
		List<Class<?>> candidates = new ArrayList<>();
		for (Class<?> candidate : interfaces) {
			if (FRAMEWORK_PACKAGES.stream().noneMatch(candidate.getName()::startsWith)) {
				candidates.add(candidate);
			}
		}
		if (candidates.size() != 1) {
			throw new ZdmConfigurationException(marker.migration(),
					"bean '" + beanName + "' (" + userType.getName() + ") is marked with @ZdmRepository but implements "
							+ (candidates.isEmpty() ? "no repository interface"
									: "several interfaces: " + candidates.stream().map(Class::getName).toList()),
					"Implement the repository interface the routing bean should implement, and name it with "
							+ "@ZdmRepository(repository = ...) when there are several.");
		}
		return candidates.get(0);
	}

	private static final class Pair {

		private final String migrationId;

		private final Map<Schema, List<String>> beans = new LinkedHashMap<>();

		Pair(String migrationId) {
			this.migrationId = migrationId;
		}

		void add(Schema schema, String beanName) {
			this.beans.computeIfAbsent(schema, (key) -> new ArrayList<>()).add(beanName);
		}

		/**
		 * The bean of a side that may have none: the implementation of both sides, which
		 * only a migration synced by the application uses.
		 */
		@Nullable String optional(Class<?> repository, Schema schema) {
			List<String> names = this.beans.getOrDefault(schema, List.of());
			return names.isEmpty() ? null : single(repository, schema);
		}

		String single(Class<?> repository, Schema schema) {
			List<String> names = this.beans.getOrDefault(schema, List.of());
			if (names.size() == 1) {
				return names.get(0);
			}
			String side = schema.name();
			throw new ZdmConfigurationException(this.migrationId, "repository " + repository.getName() + " has "
					+ (names.isEmpty() ? "no implementation" : names.size() + " implementations " + names)
					+ " marked with @ZdmRepository(migration = \"" + this.migrationId + "\", schema = " + side + ")",
					"Provide exactly one bean implementing " + repository.getSimpleName() + " against the "
							+ side.toLowerCase() + " schema, marked with @ZdmRepository(migration = \""
							+ this.migrationId + "\", schema = Schema." + side + ").");
		}

	}

}
