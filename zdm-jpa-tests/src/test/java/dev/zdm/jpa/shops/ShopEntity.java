package dev.zdm.jpa.shops;

import jakarta.persistence.CascadeType;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.OneToOne;
import jakarta.persistence.SequenceGenerator;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import org.jspecify.annotations.Nullable;

/**
 * A row of {@code shops} in the new shape: no address columns, the address is a
 * {@link ShopAddressEntity} of its own table.
 */
@Entity
@Table(name = "shops")
public class ShopEntity {

	@Id
	@GeneratedValue(strategy = GenerationType.SEQUENCE, generator = "shops_id")
	@SequenceGenerator(name = "shops_id", sequenceName = "shops_id_seq", allocationSize = 50)
	private Long id;

	private String name;

	@OneToOne(mappedBy = "shop", cascade = CascadeType.ALL)
	private @Nullable ShopAddressEntity address;

	@Version
	private long version;

	protected ShopEntity() {
	}

	ShopEntity(String name) {
		this.name = name;
	}

	Shop toShop() {
		return new Shop(this.id, this.name, (this.address != null) ? this.address.getStreet() : null,
				(this.address != null) ? this.address.getCity() : null);
	}

	Long getId() {
		return this.id;
	}

	String getName() {
		return this.name;
	}

	void setName(String name) {
		this.name = name;
	}

	@Nullable ShopAddressEntity getAddress() {
		return this.address;
	}

	void setAddress(ShopAddressEntity address) {
		this.address = address;
	}

}
