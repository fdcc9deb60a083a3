package dev.zdm.testkit.people;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * A broken new-schema repository: its inserts write the person's name into the old
 * {@code email} column. Reads through it look right; old and new disagree.
 */
@Repository
@ZdmRepository(migration = "people-email", schema = Schema.NEW)
@ConditionalOnProperty(name = "people.new-repository", havingValue = "wrong-column")
class WrongColumnPersonRepository extends NewPersonRepository {

	private final JdbcClient jdbc;

	WrongColumnPersonRepository(JdbcClient jdbc) {
		super(jdbc);
		this.jdbc = jdbc;
	}

	@Override
	public long create(String name, String email) {
		return this.jdbc.sql("INSERT INTO people (name, email, email_address) VALUES (?, ?, ?) RETURNING id")
			.params(name, name, normalize(email))
			.query(Long.class)
			.single();
	}

}
