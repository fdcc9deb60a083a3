package dev.zdm.jpa.customers;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.SequenceGenerator;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/**
 * A row of {@code customers} in the new shape: {@code email_address} and
 * {@code balance_cents} (bigint). Updates write every mapped column (Hibernate's
 * default).
 */
@Entity
@Table(name = "customers")
public class NewCustomerEntity {

	@Id
	@GeneratedValue(strategy = GenerationType.SEQUENCE, generator = "new_customers_id")
	@SequenceGenerator(name = "new_customers_id", sequenceName = "customers_id_seq", allocationSize = 50)
	private Long id;

	private String name;

	private String emailAddress;

	private Long balanceCents;

	@Version
	private long version;

	protected NewCustomerEntity() {
	}

	NewCustomerEntity(String name, String emailAddress, long balanceCents) {
		this.name = name;
		this.emailAddress = emailAddress;
		this.balanceCents = balanceCents;
	}

	Customer toCustomer() {
		return new Customer(this.id, this.name, this.emailAddress, this.balanceCents, this.version);
	}

	long getVersion() {
		return this.version;
	}

	void setName(String name) {
		this.name = name;
	}

	void setEmailAddress(String emailAddress) {
		this.emailAddress = emailAddress;
	}

	void setBalanceCents(long balanceCents) {
		this.balanceCents = balanceCents;
	}

}
