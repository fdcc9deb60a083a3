package dev.zdm.jpa.customers;

/**
 * A customer, as the service sees it whatever the schema.
 *
 * @param id the key
 * @param name the name
 * @param email the e-mail address
 * @param balanceCents the balance, in cents
 * @param version the optimistic-locking version
 */
public record Customer(long id, String name, String email, long balanceCents, long version) {

}
