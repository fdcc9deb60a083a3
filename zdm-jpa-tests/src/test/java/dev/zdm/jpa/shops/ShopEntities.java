package dev.zdm.jpa.shops;

import org.springframework.data.jpa.repository.JpaRepository;

/**
 * Spring Data JPA repository of the new shape.
 */
public interface ShopEntities extends JpaRepository<ShopEntity, Long> {

}
