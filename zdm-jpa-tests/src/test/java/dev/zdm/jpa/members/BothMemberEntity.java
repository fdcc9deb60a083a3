package dev.zdm.jpa.members;

import java.util.Locale;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.SequenceGenerator;
import jakarta.persistence.Table;
import org.hibernate.annotations.DynamicUpdate;

/**
 * A row of {@code members} in both shapes at once, for {@code sync: application}: each
 * write sets the old columns and the new ones ({@code email_address} lower-cased,
 * {@code points_total}) in the same statement.
 */
@Entity
@Table(name = "members")
@DynamicUpdate
public class BothMemberEntity {

	@Id
	@GeneratedValue(strategy = GenerationType.SEQUENCE, generator = "both_members_id")
	@SequenceGenerator(name = "both_members_id", sequenceName = "members_id_seq", allocationSize = 50)
	private Long id;

	private String name;

	private String email;

	private Integer points;

	private String emailAddress;

	private Long pointsTotal;

	protected BothMemberEntity() {
	}

	BothMemberEntity(String name, String email, int points) {
		this.name = name;
		setEmail(email);
		setPoints(points);
	}

	Member toMember() {
		return new Member(this.id, this.name, this.email, this.points);
	}

	void setEmail(String email) {
		this.email = email;
		this.emailAddress = email.toLowerCase(Locale.ROOT);
	}

	void setPoints(int points) {
		this.points = points;
		this.pointsTotal = (long) points;
	}

}
