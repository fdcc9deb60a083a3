package dev.zdm.jpa.members;

import java.util.List;
import java.util.Optional;

/**
 * The service's access to members, implemented once per schema shape on an
 * {@code EntityManager} and routed by zdm.
 */
public interface MemberRepository {

	Member create(String name, String email, long points);

	List<Member> createAll(List<Member> members);

	Optional<Member> findById(long id);

	Optional<Member> findByEmail(String email);

	void updateEmail(long id, String email);

	void updatePoints(long id, long points);

	void deleteById(long id);

}
