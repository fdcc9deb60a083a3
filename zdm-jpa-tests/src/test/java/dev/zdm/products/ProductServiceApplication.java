package dev.zdm.products;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A JPA service with two migrations on one table, {@code products}: the price moves to
 * cents in the same table ({@code products-price}, three entity shapes of the table in
 * all), the supplier to a table of its own ({@code products-supplier}). Its configuration
 * is {@code products.yml}.
 */
@SpringBootApplication
public class ProductServiceApplication {

}
