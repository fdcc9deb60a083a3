package dev.zdm.sample;

import org.jspecify.annotations.Nullable;

/**
 * A customer's postal address.
 *
 * @param street the street and number, or {@code null}
 * @param city the city, or {@code null}
 */
public record Address(@Nullable String street, @Nullable String city) {

}
