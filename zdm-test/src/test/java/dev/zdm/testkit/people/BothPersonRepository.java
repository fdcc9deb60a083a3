package dev.zdm.testkit.people;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * People on both schemas at once, for {@code sync: application}: each write sets
 * {@code email} as typed and {@code email_address} lower-cased in one statement, so that
 * no trigger is needed. Reads as the old side (never called). With
 * {@code people.both-repository=not-lowered} it writes {@code email_address} as typed,
 * with {@code people.both-repository=insert-old-only} its insert leaves
 * {@code email_address} out, and with {@code people.both-repository=update-old-only} its
 * update of an e-mail address: bugs the walk must find.
 */
@Repository
@ZdmRepository(migration = "people-email", schema = Schema.BOTH)
@ConditionalOnProperty(name = "zdm.migrations.people-email.sync", havingValue = "application")
class BothPersonRepository extends OldPersonRepository {

	private final JdbcClient jdbc;

	private final boolean lowered;

	private final boolean insertsNew;

	private final boolean updatesNew;

	BothPersonRepository(JdbcClient jdbc, @Value("${people.both-repository:correct}") String variant) {
		super(jdbc);
		this.jdbc = jdbc;
		this.lowered = !variant.equals("not-lowered");
		this.insertsNew = !variant.equals("insert-old-only");
		this.updatesNew = !variant.equals("update-old-only");
	}

	@Override
	public long create(String name, String email) {
		if (!this.insertsNew) {
			return super.create(name, email);
		}
		return this.jdbc.sql("INSERT INTO people (name, email, email_address) VALUES (?, ?, ?) RETURNING id")
			.params(name, email, emailAddress(email))
			.query(Long.class)
			.single();
	}

	@Override
	public boolean updateEmail(long id, String email) {
		if (!this.updatesNew) {
			return super.updateEmail(id, email);
		}
		return this.jdbc.sql("UPDATE people SET email = ?, email_address = ? WHERE id = ?")
			.params(email, emailAddress(email), id)
			.update() == 1;
	}

	private String emailAddress(String email) {
		return this.lowered ? NewPersonRepository.normalize(email) : email;
	}

}
