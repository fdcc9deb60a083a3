package dev.zdm.testkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.springframework.beans.factory.BeanFactoryUtils;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.BeanFactoryPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;
import org.springframework.util.ClassUtils;

import dev.zdm.autoconfigure.ZdmEndpointAutoConfiguration;
import dev.zdm.autoconfigure.ZdmHealthContributorAutoConfiguration;
import dev.zdm.autoconfigure.ZdmMetricsAutoConfiguration;
import dev.zdm.autoconfigure.ZdmObservationAutoConfiguration;
import dev.zdm.internal.fleet.MigrationEngines;
import dev.zdm.internal.fleet.PhaseController;

/**
 * What each phase of an application's migrations will do, the same plan as {@code GET
 * /actuator/zdm/{id}/plan} shows on a running instance: every statement per phase in
 * order with its lock, whether it scans or rewrites its table, the table's estimated rows
 * and size, the backfill's estimated time and the findings of the unsafe-statement check.
 * <p>
 * {@link #of(Class, ZdmDatabase, String...)} starts the application against a test
 * database without a web server and with lazy initialization, so that its own schema
 * initialization (Flyway, Liquibase or {@code spring.sql.init}) runs but zdm does not
 * start: nothing of zdm's is written, and the plan is read in a read-only transaction.
 * The application's {@code CommandLineRunner} and {@code ApplicationRunner} beans run, as
 * at any start. On a test database the tables hold only what the application's
 * initialization puts there, so the sizes and the backfill's time are those of that
 * database; a running instance's endpoint shows them for the real one.
 * <p>
 * From a build, {@link #main(String[])} does the same on a database of its own and prints
 * the plan, for example
 * {@code ./mvnw test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.zdm.testkit.ZdmPlan -Dexec.args=com.example.MyApplication}.
 */
public final class ZdmPlan {

	private final Map<String, String> texts;

	private final Map<String, List<String>> statements;

	private ZdmPlan(Map<String, String> texts, Map<String, List<String>> statements) {
		this.texts = texts;
		this.statements = statements;
	}

	/**
	 * Compute the plan of every migration an application declares, on a database.
	 * @param application the application's main class (or its sources' first class)
	 * @param database the database, whose tables the application's own schema
	 * initialization creates if they do not exist
	 * @param properties further properties, as {@code key=value}
	 * @return the plan
	 * @throws IllegalStateException if the application declares no migration or zdm is
	 * disabled
	 */
	public static ZdmPlan of(Class<?> application, ZdmDatabase database, String... properties) {
		String[] arguments = Stream
			.of(Stream.of(database.springProperties()),
					Stream.of("spring.main.banner-mode=off", "logging.level.root=warn"), Stream.of(properties))
			.flatMap((stream) -> stream)
			.map((property) -> "--" + property)
			.toArray(String[]::new);
		try (ConfigurableApplicationContext context = new SpringApplicationBuilder(application)
			.web(WebApplicationType.NONE)
			.lazyInitialization(true)
			.initializers(new PhaseControllerGuard())
			.run(arguments)) {
			Map<String, String> texts = new LinkedHashMap<>();
			Map<String, List<String>> statements = new LinkedHashMap<>();
			TestKitSupport.plans(context).forEach((id, plan) -> {
				texts.put(id, plan.text());
				statements.put(id, plan.statements());
			});
			return new ZdmPlan(texts, statements);
		}
	}

	/**
	 * Return the migrations the plan covers.
	 * @return their ids, in declaration order
	 */
	public Set<String> migrationIds() {
		return this.texts.keySet();
	}

	/**
	 * Return the plan of every migration as text.
	 * @return the plans, one after the other
	 */
	public String text() {
		return String.join("\n", this.texts.values());
	}

	/**
	 * Return the plan of one migration as text, as the endpoint shows it.
	 * @param migrationId the migration
	 * @return the plan
	 * @throws IllegalArgumentException if the application declares no such migration
	 */
	public String text(String migrationId) {
		return require(this.texts, migrationId);
	}

	/**
	 * Return the statements of one migration in the order they run, each as
	 * {@code <step> <source> #<index>: <sql>}, named as the DDL history
	 * ({@code zdm_ddl_statement}) names them.
	 * @param migrationId the migration
	 * @return the statements
	 * @throws IllegalArgumentException if the application declares no such migration
	 */
	public List<String> statements(String migrationId) {
		return require(this.statements, migrationId);
	}

	private <T> T require(Map<String, T> plans, String migrationId) {
		T plan = plans.get(migrationId);
		if (plan == null) {
			throw new IllegalArgumentException(
					"No migration '" + migrationId + "' is declared; the application declares " + plans.keySet());
		}
		return plan;
	}

	/**
	 * Print the plan of every migration an application declares: start a database as the
	 * test kit does (Testcontainers when Docker is available, else embedded PostgreSQL;
	 * {@code -Dzdm.test.postgres=embedded} to choose), start the application on it as
	 * {@link #of(Class, ZdmDatabase, String...)} does, and print the plan.
	 * @param args the application's main class, then further properties as
	 * {@code --key=value}
	 * @throws ClassNotFoundException if the class is not on the class path
	 */
	public static void main(String[] args) throws ClassNotFoundException {
		if (args.length == 0) {
			System.err.println("Usage: ZdmPlan <application class> [--key=value ...], run with the application's test "
					+ "class path, for example: ./mvnw test-compile exec:java -Dexec.classpathScope=test "
					+ "-Dexec.mainClass=dev.zdm.testkit.ZdmPlan -Dexec.args=com.example.MyApplication");
			System.exit(2);
			return;
		}
		Class<?> application = ClassUtils.forName(args[0], ZdmPlan.class.getClassLoader());
		List<String> properties = new ArrayList<>();
		for (int i = 1; i < args.length; i++) {
			properties.add(args[i].startsWith("--") ? args[i].substring(2) : args[i]);
		}
		try (ZdmDatabase database = ZdmDatabases.create(PostgresSource.AUTO, ZdmDatabases.DEFAULT_IMAGE, "plan")) {
			System.out.println(of(application, database, properties.toArray(String[]::new)).text());
		}
	}

	/**
	 * Makes sure zdm's phase controller, which writes as it starts, does not start while
	 * the plan is computed: zdm's actuator, metrics and observation beans are left out,
	 * the JPA {@code EntityManagerFactory} no longer waits for it (nor creates or updates
	 * tables: {@code ddl-auto} is {@code none}), and a bean the application creates
	 * eagerly that needs it fails the start with the reason instead.
	 */
	private static final class PhaseControllerGuard
			implements ApplicationContextInitializer<ConfigurableApplicationContext> {

		private static final String GUARD_BEAN = "zdmPlanPhaseControllerGuard";

		private static final String EXCLUDE = "spring.autoconfigure.exclude";

		@Override
		public void initialize(ConfigurableApplicationContext context) {
			// the actuator and Micrometer create their beans eagerly, and zdm's need the
			// phase controller: left out, with whatever the application excludes itself
			ConfigurableEnvironment environment = context.getEnvironment();
			List<String> exclude = new ArrayList<>(
					Binder.get(environment).bind(EXCLUDE, Bindable.listOf(String.class)).orElse(List.of()));
			exclude.addAll(List.of(ZdmHealthContributorAutoConfiguration.class.getName(),
					ZdmMetricsAutoConfiguration.class.getName(), ZdmObservationAutoConfiguration.class.getName(),
					ZdmEndpointAutoConfiguration.class.getName()));
			// Hibernate writes nothing either, nor validates entities of a schema the
			// plan only describes
			environment.getPropertySources()
				.addFirst(new MapPropertySource("zdmPlan",
						Map.of(EXCLUDE, String.join(",", exclude), "spring.jpa.hibernate.ddl-auto", "none")));
			if (context instanceof GenericApplicationContext generic) {
				generic.registerBean(EntityManagerFactoryUnblocker.class, EntityManagerFactoryUnblocker::new);
				generic.registerBean(GUARD_BEAN, InitializingBean.class, () -> () -> {
					throw new IllegalStateException("A bean of the application needs zdm's phase controller at "
							+ "start-up, which would start zdm (and write to the database) while the plan is "
							+ "computed; make that bean @Lazy, or look at the plan through GET /actuator/zdm/{id}/plan");
				});
			}
			context.addBeanFactoryPostProcessor((beanFactory) -> {
				for (String name : beanFactory.getBeanNamesForType(PhaseController.class, true, false)) {
					BeanDefinition definition = beanFactory.getBeanDefinition(name);
					String[] dependsOn = definition.getDependsOn();
					String[] merged = (dependsOn != null) ? Arrays.copyOf(dependsOn, dependsOn.length + 1)
							: new String[1];
					merged[merged.length - 1] = GUARD_BEAN;
					definition.setDependsOn(merged);
				}
			});
		}

	}

	/**
	 * Takes back the wait zdm's auto-configuration gives the JPA
	 * {@code EntityManagerFactory} for the phase controller, which the factory, created
	 * eagerly however lazy the context is, would otherwise start. Runs after the
	 * post-processor that adds it.
	 */
	private static final class EntityManagerFactoryUnblocker implements BeanFactoryPostProcessor, Ordered {

		private static final List<String> FACTORY_TYPES = List.of("jakarta.persistence.EntityManagerFactory",
				"org.springframework.orm.jpa.AbstractEntityManagerFactoryBean");

		@Override
		public int getOrder() {
			return Ordered.LOWEST_PRECEDENCE;
		}

		@Override
		public void postProcessBeanFactory(ConfigurableListableBeanFactory beanFactory) {
			ClassLoader classLoader = beanFactory.getBeanClassLoader();
			List<String> zdm = Stream
				.concat(Stream.of(beanFactory.getBeanNamesForType(PhaseController.class, true, false)),
						Stream.of(beanFactory.getBeanNamesForType(MigrationEngines.class, true, false)))
				.toList();
			for (String type : FACTORY_TYPES) {
				if (!ClassUtils.isPresent(type, classLoader)) {
					continue;
				}
				Class<?> factoryType = ClassUtils.resolveClassName(type, classLoader);
				for (String name : beanFactory.getBeanNamesForType(factoryType, true, false)) {
					BeanDefinition definition = beanFactory
						.getBeanDefinition(BeanFactoryUtils.transformedBeanName(name));
					String[] dependsOn = definition.getDependsOn();
					if (dependsOn != null) {
						definition.setDependsOn(
								Stream.of(dependsOn).filter((bean) -> !zdm.contains(bean)).toArray(String[]::new));
					}
				}
			}
		}

	}

}
