package dev.zdm.jpa;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A JPA service with three migrations: two inside one table ({@code customers-email} on
 * Spring Data JPA repositories with full-column updates and {@code @Version},
 * {@code members-email} on an {@code EntityManager} with {@code @DynamicUpdate}) and one
 * into another table ({@code shops-address}, with an entity relation).
 */
@SpringBootApplication
public class JpaServiceApplication {

}
