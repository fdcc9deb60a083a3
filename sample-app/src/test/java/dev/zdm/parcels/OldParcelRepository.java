package dev.zdm.parcels;

import java.util.Optional;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Parcels on the old schema: the recipient in {@code parcels.recipient}.
 */
@Repository
@ZdmRepository(migration = "parcels-recipient", schema = Schema.OLD)
class OldParcelRepository implements ParcelRepository {

	private final JdbcClient jdbc;

	OldParcelRepository(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	@Override
	public Parcel create(String recipient) {
		return this.jdbc.sql("INSERT INTO parcels (recipient) VALUES (:recipient) RETURNING id, recipient")
			.param("recipient", recipient)
			.query(Parcel.class)
			.single();
	}

	@Override
	public Optional<Parcel> findById(long id) {
		return this.jdbc.sql("SELECT id, recipient FROM parcels WHERE id = :id")
			.param("id", id)
			.query(Parcel.class)
			.optional();
	}

	@Override
	public boolean updateRecipient(long id, String recipient) {
		return this.jdbc.sql("UPDATE parcels SET recipient = :recipient WHERE id = :id")
			.param("recipient", recipient)
			.param("id", id)
			.update() == 1;
	}

	@Override
	public boolean deleteById(long id) {
		return this.jdbc.sql("DELETE FROM parcels WHERE id = :id").param("id", id).update() == 1;
	}

}
