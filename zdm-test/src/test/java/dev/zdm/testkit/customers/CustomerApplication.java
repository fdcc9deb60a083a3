package dev.zdm.testkit.customers;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A small application whose {@code customers-address} migration moves each customer's
 * address from {@code customers} into the table {@code customer_addresses}, walked by the
 * kit's own tests. Its configuration is {@code customers.yml}.
 */
@SpringBootApplication
public class CustomerApplication {

}
