package dev.zdm.products;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/**
 * The supplier migration's old shape: the supplier in {@code products.supplier_name}. A
 * third entity class on {@code products}, next to the price migration's two.
 */
@Entity
@Table(name = "products")
public class ProductSupplierColumnEntity {

	@Id
	private Long id;

	private String supplierName;

	@Version
	private long version;

	protected ProductSupplierColumnEntity() {
	}

	String getSupplierName() {
		return this.supplierName;
	}

	void setSupplierName(String supplierName) {
		this.supplierName = supplierName;
	}

}
