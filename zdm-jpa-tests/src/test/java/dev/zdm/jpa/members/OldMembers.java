package dev.zdm.jpa.members;

import java.util.List;
import java.util.Optional;

import jakarta.persistence.EntityManager;

import org.springframework.stereotype.Component;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Members on the old shape, through the {@code EntityManager}.
 */
@Component
@ZdmRepository(migration = "members-email", schema = Schema.OLD)
public class OldMembers implements MemberRepository {

	private final EntityManager entityManager;

	OldMembers(EntityManager entityManager) {
		this.entityManager = entityManager;
	}

	@Override
	public Member create(String name, String email, long points) {
		OldMemberEntity member = new OldMemberEntity(name, email, (int) points);
		this.entityManager.persist(member);
		return member.toMember();
	}

	@Override
	public List<Member> createAll(List<Member> members) {
		return members.stream().map((member) -> create(member.name(), member.email(), member.points())).toList();
	}

	@Override
	public Optional<Member> findById(long id) {
		return Optional.ofNullable(this.entityManager.find(OldMemberEntity.class, id)).map(OldMemberEntity::toMember);
	}

	@Override
	public Optional<Member> findByEmail(String email) {
		return this.entityManager
			.createQuery("SELECT m FROM OldMemberEntity m WHERE m.email = :email", OldMemberEntity.class)
			.setParameter("email", email)
			.getResultStream()
			.findFirst()
			.map(OldMemberEntity::toMember);
	}

	@Override
	public void updateEmail(long id, String email) {
		find(id).ifPresent((member) -> member.setEmail(email));
	}

	@Override
	public void updatePoints(long id, long points) {
		find(id).ifPresent((member) -> member.setPoints((int) points));
	}

	@Override
	public void deleteById(long id) {
		find(id).ifPresent(this.entityManager::remove);
	}

	private Optional<OldMemberEntity> find(long id) {
		return Optional.ofNullable(this.entityManager.find(OldMemberEntity.class, id));
	}

}
