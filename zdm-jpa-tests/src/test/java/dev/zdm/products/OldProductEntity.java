package dev.zdm.products;

import java.math.BigDecimal;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.SequenceGenerator;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/**
 * The price migration's old shape of {@code products}: the price in {@code price}.
 */
@Entity
@Table(name = "products")
public class OldProductEntity {

	@Id
	@GeneratedValue(strategy = GenerationType.SEQUENCE, generator = "old_products_id")
	@SequenceGenerator(name = "old_products_id", sequenceName = "products_id_seq", allocationSize = 50)
	private Long id;

	private String name;

	private BigDecimal price;

	@Version
	private long version;

	protected OldProductEntity() {
	}

	OldProductEntity(String name, long priceCents) {
		this.name = name;
		setPriceCents(priceCents);
	}

	void setPriceCents(long priceCents) {
		this.price = BigDecimal.valueOf(priceCents, 2);
	}

	PricedProduct toProduct() {
		return new PricedProduct(this.id, this.name, this.price.movePointRight(2).longValueExact());
	}

}
