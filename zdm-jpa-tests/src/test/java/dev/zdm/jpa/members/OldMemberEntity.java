package dev.zdm.jpa.members;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.SequenceGenerator;
import jakarta.persistence.Table;
import org.hibernate.annotations.DynamicUpdate;

/**
 * A row of {@code members} in the old shape: {@code email} and {@code points} (integer).
 * Updates write only the columns that changed.
 */
@Entity
@Table(name = "members")
@DynamicUpdate
public class OldMemberEntity {

	@Id
	@GeneratedValue(strategy = GenerationType.SEQUENCE, generator = "old_members_id")
	@SequenceGenerator(name = "old_members_id", sequenceName = "members_id_seq", allocationSize = 50)
	private Long id;

	private String name;

	private String email;

	private Integer points;

	protected OldMemberEntity() {
	}

	OldMemberEntity(String name, String email, int points) {
		this.name = name;
		this.email = email;
		this.points = points;
	}

	Member toMember() {
		return new Member(this.id, this.name, this.email, this.points);
	}

	void setEmail(String email) {
		this.email = email;
	}

	void setPoints(int points) {
		this.points = points;
	}

}
