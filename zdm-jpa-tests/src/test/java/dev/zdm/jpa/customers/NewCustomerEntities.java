package dev.zdm.jpa.customers;

import java.util.Optional;

import org.springframework.data.jpa.repository.JpaRepository;

/**
 * Spring Data JPA repository of the new shape.
 */
public interface NewCustomerEntities extends JpaRepository<NewCustomerEntity, Long> {

	Optional<NewCustomerEntity> findByEmailAddress(String emailAddress);

}
