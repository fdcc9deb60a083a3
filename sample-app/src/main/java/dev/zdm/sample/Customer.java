package dev.zdm.sample;

/**
 * A customer as the service's API shows it.
 *
 * @param id the id
 * @param name the name
 * @param email the e-mail address
 */
public record Customer(long id, String name, String email) {

}
