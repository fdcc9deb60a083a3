package dev.zdm.jpa.members;

import java.util.Optional;

import jakarta.persistence.EntityManager;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.stereotype.Component;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Members in both shapes at once, through the {@code EntityManager}: the writes of
 * {@code members-email} when it is synced by the application (no trigger), each through
 * {@link BothMemberEntity}. Its reads, the old shape's, are never routed to it.
 */
@Component
@ZdmRepository(migration = "members-email", schema = Schema.BOTH)
@ConditionalOnProperty(name = "zdm.migrations.members-email.sync", havingValue = "application")
public class BothMembers extends OldMembers {

	private final EntityManager entityManager;

	BothMembers(EntityManager entityManager) {
		super(entityManager);
		this.entityManager = entityManager;
	}

	@Override
	public Member create(String name, String email, long points) {
		BothMemberEntity member = new BothMemberEntity(name, email, (int) points);
		this.entityManager.persist(member);
		return member.toMember();
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

	private Optional<BothMemberEntity> find(long id) {
		return Optional.ofNullable(this.entityManager.find(BothMemberEntity.class, id));
	}

}
