package dev.zdm.products;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.SequenceGenerator;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/**
 * The price migration's new shape of {@code products}: the price in {@code price_cents}.
 */
@Entity
@Table(name = "products")
public class NewProductEntity {

	@Id
	@GeneratedValue(strategy = GenerationType.SEQUENCE, generator = "new_products_id")
	@SequenceGenerator(name = "new_products_id", sequenceName = "products_id_seq", allocationSize = 50)
	private Long id;

	private String name;

	private Long priceCents;

	@Version
	private long version;

	protected NewProductEntity() {
	}

	NewProductEntity(String name, long priceCents) {
		this.name = name;
		this.priceCents = priceCents;
	}

	void setPriceCents(long priceCents) {
		this.priceCents = priceCents;
	}

	PricedProduct toProduct() {
		return new PricedProduct(this.id, this.name, this.priceCents);
	}

}
