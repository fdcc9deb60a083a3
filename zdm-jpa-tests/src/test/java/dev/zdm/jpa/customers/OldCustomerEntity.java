package dev.zdm.jpa.customers;

import java.math.BigDecimal;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.SequenceGenerator;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/**
 * A row of {@code customers} in the old shape: {@code email} and {@code balance}
 * (numeric). Updates write every mapped column (Hibernate's default).
 */
@Entity
@Table(name = "customers")
public class OldCustomerEntity {

	@Id
	@GeneratedValue(strategy = GenerationType.SEQUENCE, generator = "old_customers_id")
	@SequenceGenerator(name = "old_customers_id", sequenceName = "customers_id_seq", allocationSize = 50)
	private Long id;

	private String name;

	private String email;

	private BigDecimal balance;

	@Version
	private long version;

	protected OldCustomerEntity() {
	}

	OldCustomerEntity(String name, String email, BigDecimal balance) {
		this.name = name;
		this.email = email;
		this.balance = balance;
	}

	Customer toCustomer() {
		return new Customer(this.id, this.name, this.email, this.balance.movePointRight(2).longValueExact(),
				this.version);
	}

	Long getId() {
		return this.id;
	}

	long getVersion() {
		return this.version;
	}

	void setName(String name) {
		this.name = name;
	}

	void setEmail(String email) {
		this.email = email;
	}

	void setBalance(BigDecimal balance) {
		this.balance = balance;
	}

}
