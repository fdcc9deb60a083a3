package dev.zdm.jpa.members;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.SequenceGenerator;
import jakarta.persistence.Table;
import org.hibernate.annotations.DynamicUpdate;

/**
 * A row of {@code members} in the new shape: {@code email_address} and
 * {@code points_total} (bigint). Updates write only the columns that changed.
 */
@Entity
@Table(name = "members")
@DynamicUpdate
public class NewMemberEntity {

	@Id
	@GeneratedValue(strategy = GenerationType.SEQUENCE, generator = "new_members_id")
	@SequenceGenerator(name = "new_members_id", sequenceName = "members_id_seq", allocationSize = 50)
	private Long id;

	private String name;

	private String emailAddress;

	private Long pointsTotal;

	protected NewMemberEntity() {
	}

	NewMemberEntity(String name, String emailAddress, long pointsTotal) {
		this.name = name;
		this.emailAddress = emailAddress;
		this.pointsTotal = pointsTotal;
	}

	Member toMember() {
		return new Member(this.id, this.name, this.emailAddress, this.pointsTotal);
	}

	void setEmailAddress(String emailAddress) {
		this.emailAddress = emailAddress;
	}

	void setPointsTotal(long pointsTotal) {
		this.pointsTotal = pointsTotal;
	}

}
