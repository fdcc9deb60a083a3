package dev.zdm.jpa.shops;

import java.util.Optional;

import org.springframework.stereotype.Component;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Shops on the old shape: the address in {@code shops}. Written first whenever both
 * shapes are written.
 */
@Component
@ZdmRepository(migration = "shops-address", schema = Schema.OLD)
public class OldShops implements ShopRepository {

	private final OldShopEntities entities;

	OldShops(OldShopEntities entities) {
		this.entities = entities;
	}

	@Override
	public Shop create(String name, String street, String city) {
		return this.entities.save(new OldShopEntity(name, street, city)).toShop();
	}

	@Override
	public Optional<Shop> findById(long id) {
		return this.entities.findById(id).map(OldShopEntity::toShop);
	}

	@Override
	public void updateAddress(long id, String street, String city) {
		this.entities.findById(id).ifPresent((shop) -> shop.moveTo(street, city));
	}

	@Override
	public void updateName(long id, String name) {
		this.entities.findById(id).ifPresent((shop) -> shop.setName(name));
	}

	@Override
	public void deleteById(long id) {
		this.entities.deleteById(id);
	}

}
