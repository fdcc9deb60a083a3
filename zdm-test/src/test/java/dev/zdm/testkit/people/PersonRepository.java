package dev.zdm.testkit.people;

import java.util.Optional;

/**
 * People, on the old or the new schema.
 */
public interface PersonRepository {

	long create(String name, String email);

	Optional<String> findEmail(long id);

	boolean updateEmail(long id, String email);

	boolean delete(long id);

}
