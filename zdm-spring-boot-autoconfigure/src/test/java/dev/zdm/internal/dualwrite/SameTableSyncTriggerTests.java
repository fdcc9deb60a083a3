package dev.zdm.internal.dualwrite;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SyncMode;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link SameTableSyncTrigger}: every write here is plain SQL, as from outside
 * the application.
 */
class SameTableSyncTriggerTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final MigrationDefinition rename = MigrationDefinition.builder("users-email")
		.table("public.users")
		.up("email_address", "lower(email)")
		.down("email", "email_address")
		.build();

	private static final MigrationDefinition split = MigrationDefinition.builder("people-name")
		.table("public.people")
		.up("first_name", "split_part(full_name, ' ', 1)")
		.up("last_name", "split_part(full_name, ' ', 2)")
		.down("full_name", "first_name || ' ' || last_name")
		.build();

	private static final MigrationDefinition typeChange = MigrationDefinition.builder("prices-cents")
		.table("public.prices")
		.up("cents", "(amount::numeric * 100)::bigint")
		.down("amount", "to_char(cents / 100.0, 'FM999999990.00')")
		.build();

	private static SameTableSyncTrigger trigger;

	private static JdbcTemplate jdbc;

	@BeforeAll
	static void createTablesAndTriggers() {
		jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, email_address text)");
		jdbc.execute("CREATE TABLE people (id bigint PRIMARY KEY, full_name text, first_name text, last_name text)");
		jdbc.execute("CREATE TABLE prices (id bigint PRIMARY KEY, amount text, cents bigint)");
		trigger = new SameTableSyncTrigger(postgres.dataSource());
		for (MigrationDefinition migration : List.of(rename, split, typeChange)) {
			trigger.expandStatements(migration).forEach(jdbc::execute);
		}
	}

	@BeforeEach
	void emptyTables() {
		jdbc.execute("TRUNCATE users, people, prices");
	}

	@Test
	void expandStatementsAreEmptyOnceTheTriggerIsInstalled() {
		assertThat(trigger.expandStatements(rename)).isEmpty();
		assertThat(trigger.expandStatements(split)).isEmpty();
	}

	@Test
	void expandStatementsReinstallADroppedTrigger() {
		MigrationDefinition other = MigrationDefinition.builder("other-email")
			.table("public.users")
			.up("email_address", "lower(email)")
			.down("email", "email_address")
			.build();
		List<String> statements = trigger.expandStatements(other);
		assertThat(statements).hasSize(2);
		statements.forEach(jdbc::execute);
		assertThat(trigger.expandStatements(other)).isEmpty();
		jdbc.execute("DROP TRIGGER zdm_sync_other_email ON users");
		assertThat(trigger.expandStatements(other)).hasSize(2);
		trigger.contractStatements(other).forEach(jdbc::execute);
		trigger.afterContractStatements(other).forEach(jdbc::execute);
		assertThat(triggerNames("users")).containsExactly("zdm_sync_users_email");
	}

	@Test
	void noTriggerForMigrationsSyncedByRepositories() {
		MigrationDefinition crossTable = rename.toBuilder().sync(SyncMode.REPOSITORIES).build();
		assertThat(trigger.expandStatements(crossTable)).isEmpty();
		assertThat(trigger.contractStatements(crossTable)).isEmpty();
	}

	@Test
	void insertOfOldSideDerivesNewSide() {
		jdbc.update("INSERT INTO users (id, name, email) VALUES (1, 'Ann', 'Ann@Example.com')");
		assertThat(user(1)).containsEntry("email", "Ann@Example.com").containsEntry("email_address", "ann@example.com");
	}

	@Test
	void insertOfNewSideDerivesOldSide() {
		jdbc.update("INSERT INTO users (id, name, email_address) VALUES (1, 'Ann', 'ann@example.com')");
		assertThat(user(1)).containsEntry("email", "ann@example.com").containsEntry("email_address", "ann@example.com");
	}

	@Test
	void insertOfNewSideDerivesAnOldColumnThatHasAConstantDefault() {
		// a new-shape insert leaves the old column to its default: at read-new the
		// application writes the new column alone, and instances still reading the old
		// side read the old column
		// a varchar(10): PostgreSQL stores its default as a cast of the constant
		jdbc.execute("CREATE TABLE defaulted (id bigint PRIMARY KEY, status varchar(10) NOT NULL DEFAULT 'active', "
				+ "opened_at timestamptz DEFAULT now(), state text)");
		MigrationDefinition status = MigrationDefinition.builder("defaulted-status")
			.table("public.defaulted")
			.up("state", "upper(status)")
			.down("status", "lower(state)")
			.build();
		trigger.expandStatements(status).forEach(jdbc::execute);
		jdbc.update("INSERT INTO defaulted (id, state) VALUES (1, 'SUSPENDED')");
		jdbc.update("INSERT INTO defaulted (id, status) VALUES (2, 'closed')");
		jdbc.update("INSERT INTO defaulted (id) VALUES (3)");
		jdbc.update("INSERT INTO defaulted (id, state) VALUES (4, 'ACTIVE')");
		assertThat(jdbc.queryForList("SELECT id, status, state FROM defaulted ORDER BY id")).containsExactly(
				Map.of("id", 1L, "status", "suspended", "state", "SUSPENDED"),
				Map.of("id", 2L, "status", "closed", "state", "CLOSED"),
				Map.of("id", 3L, "status", "active", "state", "ACTIVE"),
				Map.of("id", 4L, "status", "active", "state", "ACTIVE"));
		trigger.contractStatements(status).forEach(jdbc::execute);
		trigger.afterContractStatements(status).forEach(jdbc::execute);
	}

	@Test
	void writeSettingBothSidesKeepsBothValues() {
		jdbc.update("INSERT INTO users (id, email, email_address) VALUES (1, 'Old@x', 'new@y')");
		assertThat(user(1)).containsEntry("email", "Old@x").containsEntry("email_address", "new@y");
		jdbc.update("UPDATE users SET email = 'Older@x', email_address = 'newer@y' WHERE id = 1");
		assertThat(user(1)).containsEntry("email", "Older@x").containsEntry("email_address", "newer@y");
	}

	@Test
	void updateOfOldSideDerivesNewSide() {
		jdbc.update("INSERT INTO users (id, email) VALUES (1, 'a@x')");
		jdbc.update("UPDATE users SET email = 'B@X' WHERE id = 1");
		assertThat(user(1)).containsEntry("email", "B@X").containsEntry("email_address", "b@x");
	}

	@Test
	void updateOfNewSideDerivesOldSide() {
		jdbc.update("INSERT INTO users (id, email) VALUES (1, 'a@x')");
		jdbc.update("UPDATE users SET email_address = 'c@x' WHERE id = 1");
		assertThat(user(1)).containsEntry("email", "c@x").containsEntry("email_address", "c@x");
	}

	@Test
	void updateOfNewSideToWhatUpGivesLeavesOldSideAlone() {
		// a row written before the trigger existed
		jdbc.execute("SET session_replication_role = replica; "
				+ "INSERT INTO users (id, email) VALUES (1, 'Mixed@Case'); RESET session_replication_role");
		assertThat(user(1)).containsEntry("email_address", null);
		// as a backfill does: the new side is set to up(old); down(up(old)) would lose
		// the case
		jdbc.update("UPDATE users SET email_address = lower(email) WHERE id = 1");
		assertThat(user(1)).containsEntry("email", "Mixed@Case").containsEntry("email_address", "mixed@case");
	}

	@Test
	void updateOfOtherColumnsLeavesBothSidesAlone() {
		jdbc.update("INSERT INTO users (id, name, email, email_address) VALUES (1, 'Ann', 'A@x', 'kept')");
		jdbc.update("UPDATE users SET name = 'Bea' WHERE id = 1");
		jdbc.update("UPDATE users SET email = email WHERE id = 1");
		assertThat(user(1)).containsEntry("email", "A@x").containsEntry("email_address", "kept");
	}

	@Test
	void splitColumnIsKeptInSyncBothWays() {
		jdbc.update("INSERT INTO people (id, full_name) VALUES (1, 'Ada Lovelace')");
		assertThat(person(1)).containsEntry("first_name", "Ada").containsEntry("last_name", "Lovelace");
		jdbc.update("UPDATE people SET last_name = 'Byron' WHERE id = 1");
		assertThat(person(1)).containsEntry("full_name", "Ada Byron").containsEntry("first_name", "Ada");
		jdbc.update("INSERT INTO people (id, first_name, last_name) VALUES (2, 'Alan', 'Turing')");
		assertThat(person(2)).containsEntry("full_name", "Alan Turing");
		jdbc.update("UPDATE people SET full_name = 'Grace Hopper' WHERE id IN (1, 2)");
		assertThat(person(2)).containsEntry("first_name", "Grace").containsEntry("last_name", "Hopper");
	}

	@Test
	void typeChangeIsKeptInSyncBothWays() {
		jdbc.update("INSERT INTO prices (id, amount) VALUES (1, '12.34')");
		assertThat(jdbc.queryForObject("SELECT cents FROM prices WHERE id = 1", Long.class)).isEqualTo(1234L);
		jdbc.update("UPDATE prices SET cents = 99 WHERE id = 1");
		assertThat(jdbc.queryForObject("SELECT amount FROM prices WHERE id = 1", String.class)).isEqualTo("0.99");
	}

	@Test
	void failedDerivationFailsTheWritingStatement() {
		jdbc.update("INSERT INTO prices (id, amount) VALUES (1, '1.00')");
		assertThatExceptionOfType(DataAccessException.class)
			.isThrownBy(() -> jdbc.update("UPDATE prices SET amount = 'lots' WHERE id = 1"));
		assertThatExceptionOfType(DataAccessException.class)
			.isThrownBy(() -> jdbc.update("INSERT INTO prices (id, amount) VALUES (2, 'lots')"));
		assertThat(jdbc.queryForList("SELECT id, amount, cents FROM prices"))
			.containsExactly(Map.of("id", 1L, "amount", "1.00", "cents", 100L));
	}

	@Test
	void noTriggerForMigrationsSyncedByTheApplicationButTheContractDropsOneLeftFromAnEarlierMode() {
		jdbc.execute("CREATE TABLE members (id bigint PRIMARY KEY, login text NOT NULL, username text)");
		MigrationDefinition byTrigger = MigrationDefinition.builder("members-login")
			.table("public.members")
			.up("username", "lower(login)")
			.down("login", "username")
			.build();
		MigrationDefinition byApplication = byTrigger.toBuilder().sync(SyncMode.APPLICATION).build();
		assertThat(trigger.expandStatements(byApplication)).isEmpty();
		// the mode changed after a trigger was installed: the contract drops it; the old
		// column's NOT NULL, which the application no longer fills after the claim, was
		// dropped before the claim (ContractRelax), not here
		trigger.expandStatements(byTrigger).forEach(jdbc::execute);
		assertThat(triggerNames("members")).containsExactly("zdm_sync_members_login");
		assertThat(trigger.contractStatements(byApplication)).noneMatch((sql) -> sql.contains("DROP NOT NULL"));
		jdbc.execute("ALTER TABLE members ALTER COLUMN login DROP NOT NULL");
		trigger.contractStatements(byApplication).forEach(jdbc::execute);
		trigger.afterContractStatements(byApplication).forEach(jdbc::execute);
		assertThat(triggerNames("members")).isEmpty();
		jdbc.update("INSERT INTO members (id, username) VALUES (1, 'ada')");
		assertThat(jdbc.queryForObject("SELECT login FROM members WHERE id = 1", String.class)).isNull();
	}

	@Test
	void contractStatementsDropTheTrigger() {
		MigrationDefinition temporary = MigrationDefinition.builder("temporary")
			.table("public.prices")
			.up("cents", "(amount::numeric * 100)::bigint")
			.build();
		trigger.expandStatements(temporary).forEach(jdbc::execute);
		assertThat(triggerNames("prices")).contains("zdm_sync_temporary");
		trigger.contractStatements(temporary).forEach(jdbc::execute);
		assertThat(triggerNames("prices")).doesNotContain("zdm_sync_temporary");
		assertThat(
				jdbc.queryForObject("SELECT count(*) FROM pg_proc WHERE proname = 'zdm_sync_temporary'", Integer.class))
			.isZero();
	}

	// a fault run lost outside writes of the old column between the trigger's drop and
	// the column's: they reached the old column alone, and went with it
	@Test
	void whileTheContractScriptsRunWritesOfTheOldColumnsAreRefusedAndWritesOfTheNewGoThrough() {
		jdbc.execute("CREATE TABLE handles (id bigint PRIMARY KEY, handle text NOT NULL, nick text, seen int)");
		MigrationDefinition handles = MigrationDefinition.builder("handles-nick")
			.table("public.handles")
			.up("nick", "lower(handle)")
			.down("handle", "nick")
			.build();
		trigger.expandStatements(handles).forEach(jdbc::execute);
		jdbc.update("INSERT INTO handles (id, handle) VALUES (1, 'Ada'), (2, 'Grace')");
		trigger.contractStatements(handles).forEach(jdbc::execute);
		assertThat(triggerNames("handles")).containsExactly("zdm_sync_handles_nick");
		// a writer of the old shape is refused, not lost
		assertThatExceptionOfType(DataAccessException.class)
			.isThrownBy(() -> jdbc.update("UPDATE handles SET handle = 'Ada Lovelace' WHERE id = 1"))
			.withMessageContaining("zdm: migration handles-nick is contracting: column handle of public.handles is "
					+ "being dropped, and nothing copies what is written to it into the new columns any more; write "
					+ "the new columns instead (nick)");
		assertThatExceptionOfType(DataAccessException.class)
			.isThrownBy(() -> jdbc.update("INSERT INTO handles (id, handle) VALUES (3, 'Linus')"))
			.withMessageContaining("column handle of public.handles is being dropped");
		// the application's writes of the new side, and of other columns, go through
		jdbc.update("INSERT INTO handles (id, nick) VALUES (4, 'alan')");
		jdbc.update("UPDATE handles SET nick = 'grace hopper' WHERE id = 2");
		jdbc.update("UPDATE handles SET seen = 1 WHERE id = 1");
		jdbc.update("DELETE FROM handles WHERE id = 4");
		// the script drops the old column with the guard in place, which then lets
		// every write through
		jdbc.execute("ALTER TABLE handles DROP COLUMN handle");
		jdbc.update("UPDATE handles SET nick = 'ada' WHERE id = 1");
		jdbc.update("INSERT INTO handles (id, nick) VALUES (5, 'barbara')");
		trigger.afterContractStatements(handles).forEach(jdbc::execute);
		assertThat(triggerNames("handles")).isEmpty();
		assertThat(jdbc.queryForObject("SELECT count(*) FROM pg_proc WHERE proname = 'zdm_sync_handles_nick'",
				Integer.class))
			.isZero();
		assertThat(jdbc.queryForList("SELECT id || ' ' || nick || ' ' || coalesce(seen, 0) FROM handles ORDER BY id",
				String.class))
			.containsExactly("1 ada 1", "2 grace hopper 0", "5 barbara 0");
	}

	@Test
	void newSideInsertsKeepWorkingBetweenTheTriggerDropAndTheOldColumnDrop() {
		jdbc.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, login text NOT NULL, username text)");
		MigrationDefinition accounts = MigrationDefinition.builder("accounts-login")
			.table("public.accounts")
			.up("username", "lower(login)")
			.down("login", "username")
			.build();
		trigger.expandStatements(accounts).forEach(jdbc::execute);
		jdbc.update("INSERT INTO accounts (id, username) VALUES (1, 'ada')");
		assertThat(jdbc.queryForObject("SELECT login FROM accounts WHERE id = 1", String.class)).isEqualTo("ada");
		List<String> contract = trigger.contractStatements(accounts);
		assertThat(contract.get(0))
			.isEqualTo("ALTER TABLE \"public\".\"accounts\" ALTER COLUMN \"login\" DROP NOT NULL");
		contract.forEach(jdbc::execute);
		jdbc.update("INSERT INTO accounts (id, username) VALUES (2, 'grace')");
		assertThat(jdbc.queryForObject("SELECT username FROM accounts WHERE id = 2", String.class)).isEqualTo("grace");
		assertThat(trigger.contractStatements(accounts)).as("nothing left to relax")
			.noneMatch((statement) -> statement.contains("NOT NULL"));
	}

	@Test
	void aNewSideInsertLeavingTheNewColumnsNullIsNotTakenForAnOldShapeOneThroughTheOldColumnsDefault() {
		jdbc.execute("CREATE TABLE profiles (id bigint PRIMARY KEY, nickname text NOT NULL DEFAULT '', "
				+ "display_name text)");
		MigrationDefinition profiles = MigrationDefinition.builder("profiles-display-name")
			.table("public.profiles")
			.up("display_name", "nullif(nickname, '')")
			.down("nickname", "coalesce(display_name, '')")
			.build();
		trigger.expandStatements(profiles).forEach(jdbc::execute);
		jdbc.update("INSERT INTO profiles (id, display_name) VALUES (1, NULL), (2, 'Ada')");
		List<String> contract = trigger.contractStatements(profiles);
		assertThat(contract.get(0)).isEqualTo("ALTER TABLE \"public\".\"profiles\" ALTER COLUMN \"nickname\" "
				+ "DROP NOT NULL, ALTER COLUMN \"nickname\" DROP DEFAULT");
		contract.forEach(jdbc::execute);
		// the fleet at contract writes the new columns only, and a profile may have no
		// display name: the old column's default would have given the row an old value
		// and no new one, as an old-shape insert does
		jdbc.update("INSERT INTO profiles (id, display_name) VALUES (3, NULL)");
		assertThat(jdbc.queryForObject("SELECT nickname FROM profiles WHERE id = 3", String.class)).isNull();
		// an old-shape insert is still refused
		assertThatExceptionOfType(DataAccessException.class)
			.isThrownBy(() -> jdbc.update("INSERT INTO profiles (id, nickname) VALUES (4, 'grace')"))
			.withMessageContaining("is contracting: column nickname of public.profiles is being dropped");
		assertThat(trigger.contractStatements(profiles)).as("nothing left to relax")
			.noneMatch((statement) -> statement.contains("ALTER TABLE"));
	}

	private static Map<String, Object> user(long id) {
		return jdbc.queryForMap("SELECT email, email_address FROM users WHERE id = ?", id);
	}

	private static Map<String, Object> person(long id) {
		return jdbc.queryForMap("SELECT full_name, first_name, last_name FROM people WHERE id = ?", id);
	}

	private static List<String> triggerNames(String table) {
		return jdbc.queryForList("SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(? AS regclass)", String.class,
				table);
	}

}
