package dev.zdm.jpa.customers;

import java.util.Optional;

import org.springframework.data.jpa.repository.JpaRepository;

/**
 * Spring Data JPA repository of the old shape.
 */
public interface OldCustomerEntities extends JpaRepository<OldCustomerEntity, Long> {

	Optional<OldCustomerEntity> findByEmail(String email);

}
