package dev.zdm.products;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/**
 * The supplier migration's new shape: a row of {@code product_suppliers}.
 */
@Entity
@Table(name = "product_suppliers")
public class ProductSupplierEntity {

	@Id
	private Long productId;

	private String supplierName;

	protected ProductSupplierEntity() {
	}

	ProductSupplierEntity(long productId, String supplierName) {
		this.productId = productId;
		this.supplierName = supplierName;
	}

	String getSupplierName() {
		return this.supplierName;
	}

	void setSupplierName(String supplierName) {
		this.supplierName = supplierName;
	}

}
