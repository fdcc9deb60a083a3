package dev.zdm.products;

import java.util.Optional;

/**
 * Products and their price, routed by migration {@code products-price}.
 */
public interface PriceRepository {

	PricedProduct create(String name, long priceCents);

	Optional<PricedProduct> findById(long id);

	void updatePrice(long id, long priceCents);

	void deleteById(long id);

}
