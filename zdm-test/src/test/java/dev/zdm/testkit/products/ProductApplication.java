package dev.zdm.testkit.products;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A small application whose {@code products-price} migration changes
 * {@code products.price numeric(12,2)} into {@code products.price_cents bigint}, kept in
 * sync by zdm's trigger, for the kit's conversion checks. Its configuration is
 * {@code products.yml}.
 */
@SpringBootApplication
public class ProductApplication {

}
