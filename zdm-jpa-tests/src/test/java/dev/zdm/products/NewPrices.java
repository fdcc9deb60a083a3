package dev.zdm.products;

import java.util.Optional;

import org.springframework.stereotype.Component;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Prices on the new shape, plain Spring Data JPA code: no flush anywhere.
 */
@Component
@ZdmRepository(migration = "products-price", schema = Schema.NEW)
class NewPrices implements PriceRepository {

	private final NewProducts entities;

	NewPrices(NewProducts entities) {
		this.entities = entities;
	}

	@Override
	public PricedProduct create(String name, long priceCents) {
		return this.entities.save(new NewProductEntity(name, priceCents)).toProduct();
	}

	@Override
	public Optional<PricedProduct> findById(long id) {
		return this.entities.findById(id).map(NewProductEntity::toProduct);
	}

	@Override
	public void updatePrice(long id, long priceCents) {
		this.entities.findById(id).ifPresent((product) -> product.setPriceCents(priceCents));
	}

	@Override
	public void deleteById(long id) {
		this.entities.deleteById(id);
	}

}
