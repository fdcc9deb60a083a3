package dev.zdm.jpa.shops;

import jakarta.persistence.Entity;
import jakarta.persistence.FetchType;
import jakarta.persistence.Id;
import jakarta.persistence.JoinColumn;
import jakarta.persistence.MapsId;
import jakarta.persistence.OneToOne;
import jakarta.persistence.Table;

/**
 * A row of {@code shop_addresses}: the new table, keyed by its shop's id.
 */
@Entity
@Table(name = "shop_addresses")
public class ShopAddressEntity {

	@Id
	private Long shopId;

	@MapsId
	@OneToOne(fetch = FetchType.LAZY)
	@JoinColumn(name = "shop_id")
	private ShopEntity shop;

	private String street;

	private String city;

	protected ShopAddressEntity() {
	}

	ShopAddressEntity(ShopEntity shop, String street, String city) {
		this.shop = shop;
		this.street = street;
		this.city = city;
	}

	String getStreet() {
		return this.street;
	}

	String getCity() {
		return this.city;
	}

	void moveTo(String street, String city) {
		this.street = street;
		this.city = city;
	}

}
