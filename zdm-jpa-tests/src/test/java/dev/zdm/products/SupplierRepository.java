package dev.zdm.products;

import java.util.Optional;

/**
 * A product's supplier, routed by migration {@code products-supplier}.
 */
public interface SupplierRepository {

	Optional<String> findSupplier(long productId);

	void setSupplier(long productId, String supplier);

}
