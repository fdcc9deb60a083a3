package dev.zdm.jpa.members;

import java.util.List;
import java.util.Optional;

import jakarta.persistence.EntityManager;

import org.springframework.stereotype.Component;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Members on the new shape, through the {@code EntityManager}.
 */
@Component
@ZdmRepository(migration = "members-email", schema = Schema.NEW)
public class NewMembers implements MemberRepository {

	private final EntityManager entityManager;

	NewMembers(EntityManager entityManager) {
		this.entityManager = entityManager;
	}

	@Override
	public Member create(String name, String email, long points) {
		NewMemberEntity member = new NewMemberEntity(name, email, points);
		this.entityManager.persist(member);
		return member.toMember();
	}

	@Override
	public List<Member> createAll(List<Member> members) {
		return members.stream().map((member) -> create(member.name(), member.email(), member.points())).toList();
	}

	@Override
	public Optional<Member> findById(long id) {
		return Optional.ofNullable(this.entityManager.find(NewMemberEntity.class, id)).map(NewMemberEntity::toMember);
	}

	@Override
	public Optional<Member> findByEmail(String email) {
		return this.entityManager
			.createQuery("SELECT m FROM NewMemberEntity m WHERE m.emailAddress = :email", NewMemberEntity.class)
			.setParameter("email", email)
			.getResultStream()
			.findFirst()
			.map(NewMemberEntity::toMember);
	}

	@Override
	public void updateEmail(long id, String email) {
		find(id).ifPresent((member) -> member.setEmailAddress(email));
	}

	@Override
	public void updatePoints(long id, long points) {
		find(id).ifPresent((member) -> member.setPointsTotal(points));
	}

	@Override
	public void deleteById(long id) {
		find(id).ifPresent(this.entityManager::remove);
	}

	private Optional<NewMemberEntity> find(long id) {
		return Optional.ofNullable(this.entityManager.find(NewMemberEntity.class, id));
	}

}
