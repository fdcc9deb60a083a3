package dev.zdm.testing;

import java.util.List;
import java.util.Optional;

import javax.sql.DataSource;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;

import dev.zdm.dualwrite.ZdmRead;
import dev.zdm.internal.dualwrite.DualWriteRepositoryFactory;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.MigrationDefinition;

/**
 * Test repositories written on {@link JdbcClient}: one interface, an implementation
 * against each side of a same-table migration ({@code users.email} renamed to
 * {@code users.email_address}) and of a cross-table one ({@code accounts} moved into
 * {@code customers}), the two migrations, and the routing repository of each.
 */
public final class JdbcClientUsers {

	/** Same table: users.email becomes users.email_address, lower-cased. */
	public static final MigrationDefinition USERS_EMAIL = MigrationDefinition.builder("users-email")
		.table("users")
		.up("email_address", "lower(email)")
		.down("email", "email_address")
		.build();

	/** Cross table: accounts move into customers. */
	public static final MigrationDefinition ACCOUNTS_CUSTOMERS = MigrationDefinition.builder("accounts-customers")
		.table("accounts")
		.build();

	private JdbcClientUsers() {
	}

	/**
	 * Return the routing repository of {@link #USERS_EMAIL}.
	 * @param controller the phase controller that routes it
	 * @param dataSource the database
	 * @return the repository
	 */
	public static UserStore users(PhaseController controller, DataSource dataSource) {
		return DualWriteRepositoryFactory.create(UserStore.class, USERS_EMAIL.id(),
				new ColumnUserStore(dataSource, "users", "email"),
				new ColumnUserStore(dataSource, "users", "email_address"), controller,
				new DataSourceTransactionManager(dataSource), new MigrationStateRepository(dataSource));
	}

	/**
	 * Return the routing repository of {@link #ACCOUNTS_CUSTOMERS}.
	 * @param controller the phase controller that routes it
	 * @param dataSource the database
	 * @return the repository
	 */
	public static UserStore accounts(PhaseController controller, DataSource dataSource) {
		return DualWriteRepositoryFactory.create(UserStore.class, ACCOUNTS_CUSTOMERS.id(),
				new ColumnUserStore(dataSource, "accounts", "email"),
				new ColumnUserStore(dataSource, "customers", "email"), controller,
				new DataSourceTransactionManager(dataSource), new MigrationStateRepository(dataSource));
	}

	public record User(long id, String name, String email) {
	}

	public interface UserStore {

		Optional<User> findById(long id);

		@ZdmRead
		List<User> everyone();

		void insert(User user);

		void updateEmail(long id, String email);

		void deleteById(long id);

		default void insertAll(List<User> users) {
			users.forEach(this::insert);
		}

	}

	/**
	 * Writes the old and the new column of a same-table migration in one statement (the
	 * new one as {@code lower} of the old one), as the implementation of both sides of a
	 * migration synced by the application does; reads the old column.
	 */
	public static class BothColumnsUserStore extends ColumnUserStore {

		private final JdbcClient jdbc;

		private final String table;

		public BothColumnsUserStore(DataSource dataSource, String table) {
			super(dataSource, table, "email");
			this.jdbc = JdbcClient.create(dataSource);
			this.table = table;
		}

		@Override
		public void insert(User user) {
			this.jdbc.sql("INSERT INTO " + this.table + " (id, name, email, email_address) VALUES (?, ?, ?, lower(?))")
				.params(user.id(), user.name(), user.email(), user.email())
				.update();
		}

		@Override
		public void updateEmail(long id, String email) {
			this.jdbc.sql("UPDATE " + this.table + " SET email = ?, email_address = lower(?) WHERE id = ?")
				.params(email, email, id)
				.update();
		}

	}

	public static class ColumnUserStore implements UserStore {

		private final JdbcClient jdbc;

		private final String table;

		private final String emailColumn;

		public ColumnUserStore(DataSource dataSource, String table, String emailColumn) {
			this.jdbc = JdbcClient.create(dataSource);
			this.table = table;
			this.emailColumn = emailColumn;
		}

		@Override
		public Optional<User> findById(long id) {
			return this.jdbc
				.sql("SELECT id, name, " + this.emailColumn + " AS email FROM " + this.table + " WHERE id = ?")
				.param(id)
				.query(User.class)
				.optional();
		}

		@Override
		public List<User> everyone() {
			return this.jdbc
				.sql("SELECT id, name, " + this.emailColumn + " AS email FROM " + this.table + " ORDER BY id")
				.query(User.class)
				.list();
		}

		@Override
		public void insert(User user) {
			this.jdbc.sql("INSERT INTO " + this.table + " (id, name, " + this.emailColumn + ") VALUES (?, ?, ?)")
				.params(user.id(), user.name(), user.email())
				.update();
		}

		@Override
		public void updateEmail(long id, String email) {
			this.jdbc.sql("UPDATE " + this.table + " SET " + this.emailColumn + " = ? WHERE id = ?")
				.params(email, id)
				.update();
		}

		@Override
		public void deleteById(long id) {
			this.jdbc.sql("DELETE FROM " + this.table + " WHERE id = ?").param(id).update();
		}

	}

}
