package dev.zdm.products;

import java.util.Optional;

import org.springframework.stereotype.Component;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Suppliers on the old shape, in {@code products.supplier_name}: plain Spring Data JPA
 * code, no flush. It loads the product row through its own entity class, so it sees a
 * product created or changed through the price migration's entities in the same
 * transaction only because the routing bean flushed them first.
 */
@Component
@ZdmRepository(migration = "products-supplier", schema = Schema.OLD)
class OldSuppliers implements SupplierRepository {

	private final SupplierColumns entities;

	OldSuppliers(SupplierColumns entities) {
		this.entities = entities;
	}

	@Override
	public Optional<String> findSupplier(long productId) {
		return this.entities.findById(productId).map(ProductSupplierColumnEntity::getSupplierName);
	}

	@Override
	public void setSupplier(long productId, String supplier) {
		this.entities.findById(productId).ifPresent((product) -> product.setSupplierName(supplier));
	}

}
