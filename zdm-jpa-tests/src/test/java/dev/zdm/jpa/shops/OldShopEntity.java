package dev.zdm.jpa.shops;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.SequenceGenerator;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/**
 * A row of {@code shops} in the old shape, with its address in {@code street} and
 * {@code city}.
 */
@Entity
@Table(name = "shops")
public class OldShopEntity {

	@Id
	@GeneratedValue(strategy = GenerationType.SEQUENCE, generator = "old_shops_id")
	@SequenceGenerator(name = "old_shops_id", sequenceName = "shops_id_seq", allocationSize = 50)
	private Long id;

	private String name;

	private String street;

	private String city;

	@Version
	private long version;

	protected OldShopEntity() {
	}

	OldShopEntity(String name, String street, String city) {
		this.name = name;
		this.street = street;
		this.city = city;
	}

	Shop toShop() {
		return new Shop(this.id, this.name, this.street, this.city);
	}

	void setName(String name) {
		this.name = name;
	}

	void moveTo(String street, String city) {
		this.street = street;
		this.city = city;
	}

}
