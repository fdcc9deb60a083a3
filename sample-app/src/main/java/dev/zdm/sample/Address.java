package dev.zdm.sample;

/**
 * A customer's postal address.
 *
 * @param street the street and number
 * @param city the city
 */
public record Address(String street, String city) {

}
