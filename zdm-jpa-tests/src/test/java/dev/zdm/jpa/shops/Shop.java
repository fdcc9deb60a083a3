package dev.zdm.jpa.shops;

import org.jspecify.annotations.Nullable;

/**
 * A shop, as the service sees it whatever the schema.
 *
 * @param id the key
 * @param name the name
 * @param street the street of its address
 * @param city the city of its address
 */
public record Shop(long id, String name, @Nullable String street, @Nullable String city) {

}
