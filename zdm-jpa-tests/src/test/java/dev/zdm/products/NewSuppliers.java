package dev.zdm.products;

import java.util.Optional;

import org.springframework.stereotype.Component;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Suppliers on the new shape, in {@code product_suppliers}: creates the row when the
 * product has none yet (created before {@code dual-write} and not backfilled yet).
 */
@Component
@ZdmRepository(migration = "products-supplier", schema = Schema.NEW)
class NewSuppliers implements SupplierRepository {

	private final Suppliers entities;

	NewSuppliers(Suppliers entities) {
		this.entities = entities;
	}

	@Override
	public Optional<String> findSupplier(long productId) {
		return this.entities.findById(productId).map(ProductSupplierEntity::getSupplierName);
	}

	@Override
	public void setSupplier(long productId, String supplier) {
		this.entities.findById(productId)
			.ifPresentOrElse((row) -> row.setSupplierName(supplier),
					() -> this.entities.save(new ProductSupplierEntity(productId, supplier)));
	}

}
