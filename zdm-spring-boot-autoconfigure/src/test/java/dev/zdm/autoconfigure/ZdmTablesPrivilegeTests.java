package dev.zdm.autoconfigure;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that an application whose role may only read and write tables, in the
 * connection's current schema or the one {@code zdm.schema} names, is refused at start-up
 * with what to do when zdm's tables are not there yet, and starts when they are.
 */
class ZdmTablesPrivilegeTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String ROLE = "zdm_dml_only";

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
		.withPropertyValues(TestFleet.properties())
		.withPropertyValues("spring.datasource.username=" + ROLE, "spring.datasource.password=dml");

	@BeforeAll
	static void createTheRole() {
		postgres.jdbc().execute("CREATE ROLE " + ROLE + " LOGIN PASSWORD 'dml'");
		// as PostgreSQL 15 and later leave public, whatever the version tested on
		postgres.jdbc().execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
	}

	@Test
	void aRoleThatMayNotCreateInTheCurrentSchemaIsRefusedWithWhatToDoAndNothingIsCreated() {
		this.contextRunner.withPropertyValues("spring.datasource.url=" + url(), "zdm.instance-id=dml-a")
			.run((context) -> {
				assertThat(context).hasFailed();
				assertThat(context.getStartupFailure()).rootCause().isInstanceOf(ZdmConfigurationException.class);
				FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
				assertThat(analysis).isNotNull();
				assertThat(analysis.getDescription()).isEqualTo("the application's role 'zdm_dml_only' may not "
						+ "create zdm's tables in schema 'public' (the connection's current schema; zdm.schema is "
						+ "unset): it has no CREATE privilege there, and zdm's tables are not there yet");
				assertThat(analysis.getAction()).contains("GRANT CREATE ON SCHEMA public TO zdm_dml_only")
					.contains("CREATE SCHEMA zdm_ops AUTHORIZATION zdm_dml_only) and set zdm.schema=zdm_ops")
					.contains("start zdm once as a role that may create them");
			});
		assertThat(postgres.jdbc()
			.queryForObject(
					"SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname LIKE 'zdm\\_%'",
					Integer.class))
			.as("zdm's tables in public")
			.isZero();
	}

	@Test
	void aRoleThatMayUseZdmsTablesCreatedByAnotherRoleStartsWithoutCreate() {
		postgres.jdbc().execute("CREATE SCHEMA shared_ops");
		new ZdmSchema(postgres.dataSource(), ZdmTables.inSchema("shared_ops")).migrate();
		postgres.jdbc().execute("GRANT USAGE ON SCHEMA shared_ops TO " + ROLE);
		postgres.jdbc().execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA shared_ops TO " + ROLE);
		postgres.jdbc().execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA shared_ops TO " + ROLE);
		this.contextRunner
			.withPropertyValues("spring.datasource.url=" + url() + "?currentSchema=shared_ops", "zdm.instance-id=dml-b")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				context.getBean(MigrationStateRepository.class).register("written-by-dml-only");
			});
		assertThat(
				postgres.jdbc()
					.queryForObject("SELECT count(*) FROM shared_ops.zdm_migration WHERE migration_id = "
							+ "'written-by-dml-only'", Integer.class))
			.as("written through the application's role")
			.isOne();
	}

	@Test
	void aRoleThatMayNotCreateInTheSchemaZdmSchemaNamesIsRefusedWithWhatToDo() {
		postgres.jdbc().execute("CREATE SCHEMA made_without_create");
		postgres.jdbc().execute("GRANT USAGE ON SCHEMA made_without_create TO " + ROLE);
		this.contextRunner
			.withPropertyValues("spring.datasource.url=" + url(), "zdm.schema=made_without_create",
					"zdm.instance-id=dml-c")
			.run((context) -> {
				assertThat(context).hasFailed();
				FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
				assertThat(analysis).isNotNull();
				assertThat(analysis.getDescription()).isEqualTo("the application's role 'zdm_dml_only' may not "
						+ "create zdm's tables in schema 'made_without_create' (zdm.schema): it has no CREATE "
						+ "privilege there, and zdm's tables are not there yet");
				assertThat(analysis.getAction()).contains("GRANT CREATE ON SCHEMA made_without_create TO zdm_dml_only")
					.contains("ALTER SCHEMA made_without_create OWNER TO zdm_dml_only");
			});
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM pg_class WHERE relnamespace = 'made_without_create'::regnamespace",
					Integer.class))
			.isZero();
	}

	// the URL names the superuser as a parameter, which would win over the role given
	private static String url() {
		return postgres.database().url().replaceFirst("\\?.*", "");
	}

}
