package dev.zdm.products;

import org.jspecify.annotations.Nullable;

/**
 * A product as the service answers it.
 *
 * @param id the id
 * @param name the name
 * @param priceCents the price in cents
 * @param supplier the supplier's name
 */
public record Product(long id, String name, long priceCents, @Nullable String supplier) {

}
