package dev.zdm.testkit.people;

import java.util.Locale;
import java.util.Optional;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * People on the new schema: {@code email_address}, lower-cased. With
 * {@code people.new-repository=wrong-column} its inserts also write the person's name
 * into the old {@code email} column, a bug the walk must find.
 */
@Repository
@ZdmRepository(migration = "people-email", schema = Schema.NEW)
@ConditionalOnProperty(name = "people.new-repository", havingValue = "correct", matchIfMissing = true)
class NewPersonRepository implements PersonRepository {

	private final JdbcClient jdbc;

	NewPersonRepository(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	@Override
	public long create(String name, String email) {
		return this.jdbc.sql("INSERT INTO people (name, email_address) VALUES (?, ?) RETURNING id")
			.params(name, normalize(email))
			.query(Long.class)
			.single();
	}

	@Override
	public Optional<String> findEmail(long id) {
		return this.jdbc.sql("SELECT email_address FROM people WHERE id = ?").param(id).query(String.class).optional();
	}

	@Override
	public boolean updateEmail(long id, String email) {
		return this.jdbc.sql("UPDATE people SET email_address = ? WHERE id = ?")
			.params(normalize(email), id)
			.update() == 1;
	}

	@Override
	public boolean delete(long id) {
		return this.jdbc.sql("DELETE FROM people WHERE id = ?").param(id).update() == 1;
	}

	static String normalize(String email) {
		return email.toLowerCase(Locale.ROOT);
	}

}
