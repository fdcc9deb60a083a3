package dev.zdm.autoconfigure;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.SchemaSnapshot;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that declarations, scripts and settings that cannot work are refused at start-up
 * with a failure analysis naming the problem and the fix, before anything is written: the
 * schema, zdm's tables included, is the same before and after.
 */
@ExtendWith(OutputCaptureExtension.class)
class ZdmRefusalTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@TempDir
	static Path scripts;

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties())
		// The refusals that follow the expand fail start-up only when the expand runs at
		// start-up.
		.withPropertyValues("zdm.ddl.expand-at-startup=true");

	@BeforeAll
	static void createTablesAndScripts() throws IOException {
		postgres.jdbc().execute("CREATE TABLE users (id bigint PRIMARY KEY, email text)");
		postgres.jdbc().execute("CREATE TABLE events (id bigint PRIMARY KEY, payload text)");
		postgres.jdbc()
			.execute("CREATE FUNCTION latest_payload(text) RETURNS text LANGUAGE sql "
					+ "AS 'SELECT max(payload) FROM events'");
		postgres.jdbc()
			.execute("CREATE TABLE posts (id bigint PRIMARY KEY, body text, "
					+ "body_len int GENERATED ALWAYS AS (length(body)) STORED)");
		script("add-email-address", "V1__add_email_address.sql", "ALTER TABLE users ADD COLUMN email_address text;");
		script("add-body-size", "V1__add_body_size.sql", "ALTER TABLE posts ADD COLUMN body_size int;");
		postgres.jdbc().execute("CREATE TABLE stamped (id bigint PRIMARY KEY, created timestamp)");
		script("add-created-tz", "V1__add_created_tz.sql", "ALTER TABLE stamped ADD COLUMN created_tz timestamptz;");
		script("comment-only", "V1__comment.sql", "COMMENT ON COLUMN users.email_address IS 'the address';");
		script("add-other", "V1__add_other.sql", "ALTER TABLE users ADD COLUMN other text;");
		script("index-a", "V1__index_a.sql",
				"ALTER TABLE users ADD COLUMN a text;\nCREATE INDEX CONCURRENTLY users_lookup ON users (email);");
		script("index-b", "V1__index_b.sql",
				"ALTER TABLE users ADD COLUMN b text;\nCREATE INDEX CONCURRENTLY users_lookup ON users (email);");
		script("drop-email", "V1__drop_email.sql", "ALTER TABLE users DROP COLUMN email;");
		script("dynamic", "V1__dynamic.sql", "DO $$ BEGIN EXECUTE 'ALTER TABLE users ADD COLUMN dyn text'; END $$;");
		Files.createDirectories(scripts.resolve("empty"));
	}

	@Test
	void upWithAStableFunction() {
		assertRefused(
				List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_address=lower(email)||now()::text",
						"zdm.migrations.m.expand=" + location("add-email-address")),
				"up.email_address = \"lower(email)||now()::text\" is not a deterministic function of the row: it is not "
						+ "immutable",
				"IMMUTABLE");
		assertRefused(
				List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_address=lower(email)||now()::text",
						"zdm.migrations.m.expand=" + location("add-email-address")),
				"it calls now() (stable)", "compute the value in the application");
	}

	// an outside run's timestamp to timestamptz: refused, without a word of what to write
	@Test
	void upWithATimeZoneDependentCast() {
		assertRefused(
				List.of("zdm.migrations.m.table=stamped", "zdm.migrations.m.up.created_tz=created::timestamptz",
						"zdm.migrations.m.expand=" + location("add-created-tz")),
				"a timestamp to timestamptz or back, which depends on the session's TimeZone: name the zone, as in "
						+ "created AT TIME ZONE 'UTC'",
				"immutable functions only");
	}

	// PostgreSQL computes a stored generated column after the BEFORE triggers: the sync
	// trigger would read it as NULL (a new user's new column was NULL on every insert and
	// update, while the backfill's copy verified)
	@Test
	void upReadingAGeneratedColumn() {
		assertRefused(
				List.of("zdm.migrations.m.table=posts", "zdm.migrations.m.up.body_size=body_len * 2",
						"zdm.migrations.m.expand=" + location("add-body-size")),
				"up.body_size = \"body_len * 2\" reads generated column 'body_len' of table 'public.posts' "
						+ "(GENERATED ALWAYS AS (length(body)) STORED): PostgreSQL computes a generated column after "
						+ "the BEFORE triggers",
				"in place of body_len, (length(body))");
	}

	@Test
	void downWritingAGeneratedColumn() {
		assertRefused(List.of("zdm.migrations.m.table=posts", "zdm.migrations.m.up.body_size=length(body)",
				"zdm.migrations.m.down.body_len=body_size", "zdm.migrations.m.expand=" + location("add-body-size")),
				"column 'body_len' (zdm.migrations.m.down) is a generated column of table 'public.posts' (GENERATED "
						+ "ALWAYS AS (length(body)) STORED)",
				"Remove zdm.migrations.m.down.body_len");
	}

	// the contract's guard and relaxing of the old columns are for columns about to be
	// dropped: kept, a column lost its default and new rows got NULL in it
	@Test
	void contractScriptsThatKeepAnOldColumn() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_address=lower(email)",
				"zdm.migrations.m.down.email=email_address", "zdm.migrations.m.expand=" + location("add-email-address"),
				"zdm.migrations.m.contract=" + location("comment-only")),
				"the contract scripts ([V1__comment.sql]) do not drop old column email of public.users, which "
						+ "zdm.migrations.m.down keeps in sync with the new columns",
				"ALTER TABLE public.users DROP COLUMN \"email\"");
	}

	@Test
	void upWithAVolatileFunction() {
		assertRefused(
				List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_address=email || random()::text",
						"zdm.migrations.m.expand=" + location("add-email-address")),
				"it calls random() (volatile)", "wrap it in a function of your own declared IMMUTABLE");
	}

	@Test
	void upWithASubqueryOnAnotherTable() {
		assertRefused(
				List.of("zdm.migrations.m.table=users",
						"zdm.migrations.m.up.email_address=(select max(payload) from events)",
						"zdm.migrations.m.expand=" + location("add-email-address")),
				"is not a deterministic function of the row: it contains a subquery", "over the row's own columns");
	}

	@Test
	void upReadingAnotherTableThroughAFunction() {
		assertRefused(
				List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_address=latest_payload(email)",
						"zdm.migrations.m.expand=" + location("add-email-address")),
				"it calls latest_payload() (volatile)", "compute the value in the application");
	}

	@Test
	void upReadingAnotherTablesColumn() {
		assertRefused(
				List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_address=events.payload",
						"zdm.migrations.m.expand=" + location("add-email-address")),
				"is invalid: ERROR: missing FROM-clause entry for table \"events\"", "over the table's columns");
	}

	@Test
	void upWithAnAggregate() {
		assertRefused(
				List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_address=max(email)",
						"zdm.migrations.m.expand=" + location("add-email-address")),
				"it calls an aggregate function", "over the row's own columns");
	}

	@Test
	void upWithAWindowFunction() {
		assertRefused(
				List.of("zdm.migrations.m.table=users",
						"zdm.migrations.m.up.email_address=email || row_number() over ()",
						"zdm.migrations.m.expand=" + location("add-email-address")),
				"it calls a window function", "over the row's own columns");
	}

	@Test
	void downWithAVolatileFunctionOverAColumnTheExpandAdds() {
		assertRefused(
				List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_address=lower(email)",
						"zdm.migrations.m.down.email=email_address || clock_timestamp()::text",
						"zdm.migrations.m.expand=" + location("add-email-address")),
				"down.email = \"email_address || clock_timestamp()::text\" is not a deterministic function of the row",
				"IMMUTABLE");
	}

	@Test
	void twoMigrationsDerivingTheSameColumn() {
		assertRefused(
				List.of("zdm.migrations.first.table=users", "zdm.migrations.first.up.email_address=lower(email)",
						"zdm.migrations.first.expand=" + location("add-email-address"),
						"zdm.migrations.second.table=users", "zdm.migrations.second.up.email_address=upper(email)",
						"zdm.migrations.second.expand=" + location("add-email-address")),
				"column 'email_address' of table 'public.users' is written both by zdm.migrations.first.up and by "
						+ "zdm.migrations.second.up",
				"Let one migration own the column");
	}

	@Test
	void twoMigrationsWhoseScriptsCreateTheSameIndex() {
		assertRefused(List.of("zdm.migrations.first.table=users", "zdm.migrations.first.up.a=lower(email)",
				"zdm.migrations.first.expand=" + location("index-a"), "zdm.migrations.second.table=users",
				"zdm.migrations.second.up.b=upper(email)", "zdm.migrations.second.expand=" + location("index-b")),
				"the scripts of two migrations create the same index users_lookup: migration 'first' (script "
						+ "V1__index_a.sql) and migration 'second' (script V1__index_b.sql)",
				"Create each object in one migration only");
	}

	@Test
	void aMigrationWhoseScriptsCreateWhatAnAbandonedOneStillDeclaresIsToldToWaitForTheAbandon() {
		// an abandoned migration stays declared until its abandon is done: the advice
		// is to remove its declaration then, not to rename what both create
		assertRefused(List.of("zdm.migrations.first.table=users", "zdm.migrations.first.up.a=lower(email)",
				"zdm.migrations.first.expand=" + location("index-a"), "zdm.migrations.first.phase=abandon",
				"zdm.migrations.first.abandon-reason=postponed", "zdm.migrations.second.table=users",
				"zdm.migrations.second.up.b=upper(email)", "zdm.migrations.second.expand=" + location("index-b")),
				"the scripts of two migrations create the same index users_lookup",
				"Migration 'first' is at abandon: once its abandon is done (abandon.state 'done' in "
						+ "/actuator/zdm/first), remove its declaration (zdm.migrations.first.*) and declare "
						+ "migration 'second' then");
	}

	@Test
	void scriptLocationWithAPrefixFlywayCannotReadIsRefusedWithTheOneItReads() {
		assertRefused(
				List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_address=lower(email)",
						"zdm.migrations.m.expand=file:/srv/zdm/expand"),
				"zdm.migrations.m.expand is 'file:/srv/zdm/expand', whose prefix 'file:' the scripts cannot be read "
						+ "with (Flyway, which runs them, reads classpath: and filesystem: only)",
				"Set zdm.migrations.m.expand to filesystem:/srv/zdm/expand for that directory");
	}

	@Test
	void newColumnThatNoExpandScriptAdds() {
		assertRefused(
				List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_adress=lower(email)",
						"zdm.migrations.m.expand=" + location("add-email-address")),
				"new column 'email_adress' (zdm.migrations.m.up) is not in table 'public.users' and no expand script "
						+ "adds it (scripts: [V1__add_email_address.sql]); nothing has run",
				"Did you mean 'email_address', which the expand adds? Correct the name in zdm.migrations.m.up; or add "
						+ "the column in an expand script under zdm.migrations.m.expand, for example ALTER TABLE "
						+ "public.users ADD COLUMN email_adress <the type of its up expression>.");
	}

	@Test
	void newColumnMissingAfterAnExpandItCannotReadIsRefusedSayingWhatWasAppliedAndHowToUndoIt() {
		List<String> before = SchemaSnapshot.of(postgres.jdbc());
		this.contextRunner
			.withPropertyValues("zdm.migrations.m.table=users", "zdm.migrations.m.up.dyn_typo=lower(email)",
					"zdm.migrations.m.expand=" + location("dynamic"))
			.run((context) -> {
				assertThat(context).hasFailed();
				FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
				assertThat(analysis).isNotNull();
				assertThat(analysis.getDescription()).contains(
						"Migration 'm': new column 'dyn_typo' (zdm.migrations.m.up) does not exist in table 'public.users' "
								+ "after the expand scripts ran")
					.contains("zdm's tables (zdm_*) were created and the expand scripts [V1__dynamic.sql] were applied "
							+ "(recorded in \"zdm_ddl_expand_m\")");
				assertThat(analysis.getAction()).contains("correct the name in zdm.migrations.m.up")
					.contains("correcting the declaration and starting again is enough")
					.contains("DROP TABLE \"zdm_ddl_expand_m\" and DELETE FROM zdm_migration WHERE migration_id = 'm'");
			});
		// The undo the report gives brings the application's schema back; zdm's other
		// tables stay.
		postgres.jdbc().execute("ALTER TABLE users DROP COLUMN dyn");
		postgres.jdbc().execute("DROP TABLE \"zdm_ddl_expand_m\"");
		postgres.jdbc().execute("DELETE FROM zdm_migration WHERE migration_id = 'm'");
		assertThat(postgres.jdbc().queryForList("SELECT t::text FROM zdm_ddl_step t", String.class)).isEmpty();
		dropZdm();
		assertThat(SchemaSnapshot.of(postgres.jdbc())).isEqualTo(before);
	}

	@Test
	void missingExpandLocation() {
		assertRefused(
				List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_address=lower(email)",
						"zdm.migrations.m.expand=" + location("no-such-folder")),
				"the expand location '" + location("no-such-folder")
						+ "' (zdm.migrations.m.expand) does not exist or holds no V<version>__<description>.sql scripts",
				"Put the migration's expand scripts there");
	}

	@Test
	void emptyExpandLocation() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.expand=" + location("empty")),
				"(zdm.migrations.m.expand) does not exist or holds no", "or correct zdm.migrations.m.expand");
	}

	@Test
	void missingContractLocationWhenTheContractIsRequested() {
		assertRefused(
				List.of("zdm.migrations.m.table=users", "zdm.migrations.m.phase=contract",
						"zdm.migrations.m.contract=" + location("no-such-folder")),
				"the contract location '" + location("no-such-folder") + "' (zdm.migrations.m.contract) does not exist",
				"The contract runs only once a contract location holds the scripts");
	}

	@Test
	void missingContractLocationBeforeTheContractIsWarnedAbout(CapturedOutput output) {
		this.contextRunner
			.withPropertyValues("zdm.migrations.m.table=events", "zdm.migrations.m.phase=expand",
					"zdm.migrations.m.contract=" + location("no-such-folder"))
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(output).containsOnlyOnce("the contract location '" + location("no-such-folder")
						+ "' does not exist or holds no scripts; an instance that requests phase contract is refused");
			});
		dropZdm();
	}

	@Test
	void unsafeExpandScript() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.expand=" + location("drop-email")),
				"1 unsafe statement in its scripts; nothing has run", "Use the safe recipe");
	}

	@Test
	void negativeBackfillPause() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.backfill.pause=-1s"),
				"zdm.migrations.m.backfill.pause is PT-1S, which is out of range",
				"Set zdm.migrations.m.backfill.pause to a duration of 0 or more");
	}

	@Test
	void negativeVerificationPause() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.backfill.verification-pause=-1s"),
				"zdm.migrations.m.backfill.verification-pause is PT-1S, which is out of range",
				"Set zdm.migrations.m.backfill.verification-pause to a duration of 0 or more");
	}

	@Test
	void zeroInitialBatchSize() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.backfill.initial-batch-size=0"),
				"zdm.migrations.m.backfill.initial-batch-size is 0, which is out of range",
				"Set zdm.migrations.m.backfill.initial-batch-size to 1 or more");
	}

	@Test
	void zeroDdlLockTimeout() {
		assertRefused(List.of("zdm.ddl.lock-timeout=0s"), "zdm.ddl.lock-timeout is PT0S, which is out of range",
				"Set zdm.ddl.lock-timeout to a duration greater than 0");
	}

	@Test
	void zeroDdlMaxAttempts() {
		assertRefused(List.of("zdm.ddl.max-attempts=0"), "zdm.ddl.max-attempts is 0, which is out of range",
				"Set zdm.ddl.max-attempts to 1 or more");
	}

	@Test
	void zeroExpandAlertAfter() {
		assertRefused(List.of("zdm.ddl.expand-alert-after=0s"),
				"zdm.ddl.expand-alert-after is PT0S, which is out of range",
				"Set zdm.ddl.expand-alert-after to a duration greater than 0");
	}

	@Test
	void zeroHeartbeatInterval() {
		assertRefused(List.of("zdm.fleet.heartbeat-interval=0s"),
				"zdm.fleet.heartbeat-interval is PT0S, which is out of range",
				"Set zdm.fleet.heartbeat-interval to a duration greater than 0");
	}

	@Test
	void negativeFleetTimeout() {
		assertRefused(List.of("zdm.fleet.timeout=-5s"), "zdm.fleet.timeout is PT-5S, which is out of range",
				"Set zdm.fleet.timeout to a duration greater than 0");
	}

	@Test
	void fleetTimeoutLessThanTwiceTheHeartbeatInterval() {
		assertRefused(List.of("zdm.fleet.heartbeat-interval=5s", "zdm.fleet.timeout=9s"),
				"zdm.fleet.timeout (PT9S) is less than twice zdm.fleet.heartbeat-interval (PT5S)",
				"Set zdm.fleet.timeout to at least twice zdm.fleet.heartbeat-interval");
	}

	@Test
	void aValidDeclarationOverTheSameScriptsStarts() {
		this.contextRunner.withPropertyValues("zdm.migrations.m.table=users",
				"zdm.migrations.m.up.email_address=lower(email)", "zdm.migrations.m.down.email=email_address",
				"zdm.migrations.m.expand=" + location("add-email-address"), "zdm.migrations.m.backfill.enabled=false")
			.run((context) -> assertThat(context).hasNotFailed());
		dropZdm();
		postgres.jdbc().execute("ALTER TABLE users DROP COLUMN email_address");
	}

	// What a start-up that was not refused left: zdm's tables, triggers and functions.
	private static void dropZdm() {
		postgres.jdbc().execute("""
				DO $$
				DECLARE r record;
				BEGIN
				  FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
				           WHERE n.nspname = 'public' AND p.proname LIKE 'zdm%' LOOP
				    EXECUTE 'DROP FUNCTION ' || r.f || ' CASCADE';
				  END LOOP;
				  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'zdm%' LOOP
				    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
				  END LOOP;
				END $$""");
		assertThat(SchemaSnapshot.of(postgres.jdbc())).noneMatch((line) -> line.contains("zdm"));
	}

	private void assertRefused(List<String> properties, String description, String action) {
		List<String> before = SchemaSnapshot.of(postgres.jdbc());
		this.contextRunner.withPropertyValues(properties.toArray(String[]::new)).run((context) -> {
			assertThat(context).hasFailed();
			FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
			assertThat(analysis).as("failure analysis of %s", context.getStartupFailure()).isNotNull();
			assertThat(analysis.getDescription()).contains(description);
			assertThat(analysis.getAction()).contains(action);
		});
		assertThat(SchemaSnapshot.of(postgres.jdbc())).as("schema after a refused start-up").isEqualTo(before);
		assertThat(SchemaSnapshot.relations(postgres.jdbc(), "zdm_")).as("zdm's tables").isEmpty();
	}

	private static String location(String name) {
		return "filesystem:" + scripts.resolve(name).toAbsolutePath();
	}

	private static void script(String folder, String name, String sql) throws IOException {
		Path path = scripts.resolve(folder);
		Files.createDirectories(path);
		Files.writeString(path.resolve(name), sql);
	}

}
