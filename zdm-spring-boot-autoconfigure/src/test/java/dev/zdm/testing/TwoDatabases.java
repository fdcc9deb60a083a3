package dev.zdm.testing;

import java.util.List;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.beans.factory.config.BeanDefinitionCustomizer;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.JdbcClientUsers.ColumnUserStore;
import dev.zdm.testing.JdbcClientUsers.UserStore;

/**
 * JUnit extension that gives a test class the two databases of an application with two
 * {@link DataSource} beans, each on a PostgreSQL server of its own: {@code billing}, the
 * class's database on the shared embedded server, and {@code orders}, the class's
 * database on a second server. Register it as a static field: <pre class="code">
 * &#64;RegisterExtension
 * static final TwoDatabases databases = new TwoDatabases();
 * </pre>
 */
public final class TwoDatabases implements BeforeAllCallback, AfterAllCallback {

	private final PostgresExtension billing = new PostgresExtension();

	private final PostgresExtension ordersServer = PostgresExtension.onServer("orders");

	// owned by the test, not by the contexts that use it
	private @Nullable HikariDataSource orders;

	@Override
	public void beforeAll(ExtensionContext context) {
		this.billing.beforeAll(context);
		this.ordersServer.beforeAll(context);
		this.orders = this.ordersServer.newDataSource("orders-test", 8);
	}

	@Override
	public void afterAll(ExtensionContext context) {
		this.orders = null;
		try {
			this.ordersServer.afterAll(context);
		}
		finally {
			this.billing.afterAll(context);
		}
	}

	/**
	 * Return the {@code billing} database, on the shared server.
	 * @return its extension
	 */
	public PostgresExtension billing() {
		return this.billing;
	}

	/**
	 * Return a pool on the {@code orders} database, on the second server, shared by the
	 * class's tests.
	 * @return the data source
	 */
	public HikariDataSource orders() {
		if (this.orders == null) {
			throw new IllegalStateException("TwoDatabases must be registered as a static field");
		}
		return this.orders;
	}

	/**
	 * Return a runner of contexts with the two {@link DataSource} beans,
	 * {@code ordersDataSource} and then {@code billingDataSource}, none of them primary,
	 * and the fleet timing of the tests.
	 * @return the runner
	 */
	public ApplicationContextRunner contextRunner() {
		return contextRunner((bean) -> {
		});
	}

	/**
	 * Return a runner of contexts as {@link #contextRunner()} does, with
	 * {@code billingDataSource}'s definition customized.
	 * @param billingDataSource the customizer, for example one that makes it primary
	 * @return the runner
	 */
	public ApplicationContextRunner contextRunner(BeanDefinitionCustomizer billingDataSource) {
		return new ApplicationContextRunner()
			.withBean("ordersDataSource", DataSource.class, this::orders, (bean) -> bean.setDestroyMethodName(""))
			.withBean("billingDataSource", DataSource.class, () -> this.billing.newDataSource("billing", 6),
					billingDataSource)
			.withPropertyValues(TestFleet.properties());
	}

	/**
	 * Return the names of zdm's tables in a database.
	 * @param dataSource the database
	 * @return the names, in order
	 */
	public static List<String> zdmTables(DataSource dataSource) {
		return new JdbcTemplate(dataSource).queryForList(
				"SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'zdm\\_%' ORDER BY 1",
				String.class);
	}

	/**
	 * Return the migrations registered in a database, none if zdm's tables are not there.
	 * @param dataSource the database
	 * @return their ids, in order
	 */
	public static List<String> migrationIds(DataSource dataSource) {
		JdbcTemplate jdbc = new JdbcTemplate(dataSource);
		if (!Boolean.TRUE
			.equals(jdbc.queryForObject("SELECT to_regclass('zdm_migration') IS NOT NULL", Boolean.class))) {
			return List.of();
		}
		return jdbc.queryForList("SELECT migration_id FROM zdm_migration ORDER BY 1", String.class);
	}

	/**
	 * The old and new {@link UserStore} of migration {@code users-email} (table
	 * {@code users}, {@code email} to {@code email_address}), on the {@link DataSource}
	 * bean the migration runs on: {@code zdm.migrations.users-email.data-source}, else
	 * {@code zdm.data-source}.
	 */
	@Configuration(proxyBeanMethods = false)
	public static class RoutedUsers {

		private static final String DATA_SOURCE = "${zdm.migrations.users-email.data-source:${zdm.data-source}}";

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.OLD)
		UserStore oldUsers(BeanFactory beanFactory, @Value(DATA_SOURCE) String dataSource) {
			return users(beanFactory, dataSource, "email");
		}

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.NEW)
		UserStore newUsers(BeanFactory beanFactory, @Value(DATA_SOURCE) String dataSource) {
			return users(beanFactory, dataSource, "email_address");
		}

		private static UserStore users(BeanFactory beanFactory, String dataSource, String emailColumn) {
			return new ColumnUserStore(beanFactory.getBean(dataSource, DataSource.class), "users", emailColumn);
		}

	}

}
