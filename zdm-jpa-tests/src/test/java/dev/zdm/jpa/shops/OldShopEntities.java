package dev.zdm.jpa.shops;

import org.springframework.data.jpa.repository.JpaRepository;

/**
 * Spring Data JPA repository of the old shape.
 */
public interface OldShopEntities extends JpaRepository<OldShopEntity, Long> {

}
