package dev.zdm.dualwrite;

import java.util.List;
import java.util.Optional;

import javax.sql.DataSource;

import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Test repositories written on {@link JdbcClient}: one interface, an implementation
 * against each side of a same-table migration ({@code users.email} renamed to
 * {@code users.email_address}) and of a cross-table one ({@code accounts} moved into
 * {@code customers}).
 */
final class JdbcClientUsers {

	private JdbcClientUsers() {
	}

	record User(long id, String name, String email) {
	}

	interface UserStore {

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

	static class ColumnUserStore implements UserStore {

		private final JdbcClient jdbc;

		private final String table;

		private final String emailColumn;

		ColumnUserStore(DataSource dataSource, String table, String emailColumn) {
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
