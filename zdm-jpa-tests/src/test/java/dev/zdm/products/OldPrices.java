package dev.zdm.products;

import java.util.Optional;

import org.springframework.stereotype.Component;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Prices on the old shape, plain Spring Data JPA code: no flush anywhere.
 */
@Component
@ZdmRepository(migration = "products-price", schema = Schema.OLD)
class OldPrices implements PriceRepository {

	private final OldProducts entities;

	OldPrices(OldProducts entities) {
		this.entities = entities;
	}

	@Override
	public PricedProduct create(String name, long priceCents) {
		return this.entities.save(new OldProductEntity(name, priceCents)).toProduct();
	}

	@Override
	public Optional<PricedProduct> findById(long id) {
		return this.entities.findById(id).map(OldProductEntity::toProduct);
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
