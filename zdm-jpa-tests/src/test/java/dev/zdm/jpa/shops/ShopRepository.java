package dev.zdm.jpa.shops;

import java.util.Optional;

/**
 * The service's access to shops. The address moves from {@code shops} into
 * {@code shop_addresses}: implemented once per schema shape and routed by zdm, which
 * calls both implementations while both shapes are written.
 */
public interface ShopRepository {

	Shop create(String name, String street, String city);

	Optional<Shop> findById(long id);

	void updateAddress(long id, String street, String city);

	void updateName(long id, String name);

	void deleteById(long id);

}
