package dev.zdm.testkit.people;

import java.util.Optional;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * People on the old schema: {@code email} as typed.
 */
@Repository
@ZdmRepository(migration = "people-email", schema = Schema.OLD)
class OldPersonRepository implements PersonRepository {

	private final JdbcClient jdbc;

	OldPersonRepository(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	@Override
	public long create(String name, String email) {
		return this.jdbc.sql("INSERT INTO people (name, email) VALUES (?, ?) RETURNING id")
			.params(name, email)
			.query(Long.class)
			.single();
	}

	@Override
	public Optional<String> findEmail(long id) {
		return this.jdbc.sql("SELECT email FROM people WHERE id = ?").param(id).query(String.class).optional();
	}

	@Override
	public boolean updateEmail(long id, String email) {
		return this.jdbc.sql("UPDATE people SET email = ? WHERE id = ?").params(email, id).update() == 1;
	}

	@Override
	public boolean delete(long id) {
		return this.jdbc.sql("DELETE FROM people WHERE id = ?").param(id).update() == 1;
	}

}
