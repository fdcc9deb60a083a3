package dev.zdm.products;

import java.util.Optional;

import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * What a controller would call: each operation one transaction that uses the routed
 * repositories of both migrations, as a service written without zdm in mind would.
 */
@Service
public class ProductService {

	private final PriceRepository prices;

	private final SupplierRepository suppliers;

	ProductService(PriceRepository prices, SupplierRepository suppliers) {
		this.prices = prices;
		this.suppliers = suppliers;
	}

	@Transactional
	public Product create(String name, long priceCents, String supplier) {
		PricedProduct product = this.prices.create(name, priceCents);
		this.suppliers.setSupplier(product.id(), supplier);
		return new Product(product.id(), product.name(), product.priceCents(), supplier);
	}

	@Transactional
	public Optional<Product> update(long id, long priceCents, String supplier) {
		Optional<PricedProduct> product = this.prices.findById(id);
		if (product.isEmpty()) {
			return Optional.empty();
		}
		boolean supplierChanged = !supplier.equals(this.suppliers.findSupplier(id).orElse(null));
		this.prices.updatePrice(id, priceCents);
		if (supplierChanged) {
			this.suppliers.setSupplier(id, supplier);
		}
		return Optional.of(new Product(id, product.get().name(), priceCents, supplier));
	}

	@Transactional(readOnly = true)
	public Optional<Product> find(long id) {
		return this.prices.findById(id)
			.map((product) -> new Product(id, product.name(), product.priceCents(),
					this.suppliers.findSupplier(id).orElse(null)));
	}

	@Transactional
	public void delete(long id) {
		this.prices.deleteById(id);
	}

}
