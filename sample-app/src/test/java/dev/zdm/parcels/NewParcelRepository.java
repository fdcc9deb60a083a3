package dev.zdm.parcels;

import java.util.Optional;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Parcels on the new schema: the recipient in {@code parcels.addressee}.
 */
@Repository
@ZdmRepository(migration = "parcels-recipient", schema = Schema.NEW)
class NewParcelRepository implements ParcelRepository {

	private final JdbcClient jdbc;

	NewParcelRepository(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	@Override
	public Parcel create(String recipient) {
		return this.jdbc.sql("INSERT INTO parcels (addressee) VALUES (:recipient) RETURNING id, addressee AS recipient")
			.param("recipient", recipient)
			.query(Parcel.class)
			.single();
	}

	@Override
	public Optional<Parcel> findById(long id) {
		return this.jdbc.sql("SELECT id, addressee AS recipient FROM parcels WHERE id = :id")
			.param("id", id)
			.query(Parcel.class)
			.optional();
	}

	@Override
	public boolean updateRecipient(long id, String recipient) {
		return this.jdbc.sql("UPDATE parcels SET addressee = :recipient WHERE id = :id")
			.param("recipient", recipient)
			.param("id", id)
			.update() == 1;
	}

	@Override
	public boolean deleteById(long id) {
		return this.jdbc.sql("DELETE FROM parcels WHERE id = :id").param("id", id).update() == 1;
	}

}
