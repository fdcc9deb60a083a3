package dev.zdm.parcels;

import java.util.Optional;

/**
 * Parcel data access, one implementation per shape of {@code parcels}; zdm routes each
 * call by phase.
 */
public interface ParcelRepository {

	Parcel create(String recipient);

	Optional<Parcel> findById(long id);

	boolean updateRecipient(long id, String recipient);

	boolean deleteById(long id);

}
