package dev.zdm.jpa.shops;

import java.util.Objects;
import java.util.Optional;

import jakarta.persistence.EntityManager;
import org.jspecify.annotations.Nullable;

import org.springframework.stereotype.Component;

import dev.zdm.dualwrite.DualWriteCall;
import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Shops on the new shape: the shop in {@code shops}, its address in
 * {@code shop_addresses}.
 * <p>
 * While both shapes are written, the old implementation has already written the
 * {@code shops} row in this call, through another entity class mapped to the same table.
 * So every write here first flushes (the old side's changes reach the database), then
 * reads the shop afresh and writes only what differs: the {@code shops} row is left as
 * the old side wrote it, and this side adds or changes the address. Once the old side is
 * no longer written (after the contract DDL) the same code writes the {@code shops} row
 * itself.
 */
@Component
@ZdmRepository(migration = "shops-address", schema = Schema.NEW)
public class NewShops implements ShopRepository {

	private final EntityManager entityManager;

	NewShops(EntityManager entityManager) {
		this.entityManager = entityManager;
	}

	@Override
	public Shop create(String name, String street, String city) {
		this.entityManager.flush();
		DualWriteCall call = DualWriteCall.current();
		ShopEntity shop = (call != null && call.otherSideResult() instanceof Shop written) ? fresh(written.id()) : null;
		if (shop == null) {
			shop = new ShopEntity(name);
			this.entityManager.persist(shop);
		}
		else if (!name.equals(shop.getName())) {
			shop.setName(name);
		}
		ShopAddressEntity address = new ShopAddressEntity(shop, street, city);
		this.entityManager.persist(address);
		shop.setAddress(address);
		return shop.toShop();
	}

	@Override
	public Optional<Shop> findById(long id) {
		return Optional.ofNullable(this.entityManager.find(ShopEntity.class, id)).map(ShopEntity::toShop);
	}

	@Override
	public void updateAddress(long id, String street, String city) {
		this.entityManager.flush();
		ShopEntity shop = fresh(id);
		if (shop == null) {
			return;
		}
		ShopAddressEntity address = shop.getAddress();
		if (address == null) {
			address = new ShopAddressEntity(shop, street, city);
			this.entityManager.persist(address);
			shop.setAddress(address);
		}
		else {
			address.moveTo(street, city);
		}
	}

	@Override
	public void updateName(long id, String name) {
		this.entityManager.flush();
		ShopEntity shop = fresh(id);
		if (shop != null && !Objects.equals(shop.getName(), name)) {
			shop.setName(name);
		}
	}

	@Override
	public void deleteById(long id) {
		this.entityManager.flush();
		ShopEntity shop = fresh(id);
		if (shop != null) {
			this.entityManager.remove(shop);
		}
	}

	/**
	 * The shop as the database has it now. A shop already in the persistence context is
	 * refreshed, since the old side may have changed or deleted its row through another
	 * entity class.
	 */
	private @Nullable ShopEntity fresh(long id) {
		long rows = this.entityManager.createQuery("SELECT count(s) FROM ShopEntity s WHERE s.id = :id", Long.class)
			.setParameter("id", id)
			.getSingleResult();
		if (rows == 0) {
			return null;
		}
		ShopEntity shop = this.entityManager.find(ShopEntity.class, id);
		this.entityManager.refresh(shop);
		return shop;
	}

}
