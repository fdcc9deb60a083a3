package dev.zdm.products;

/**
 * A product as the price migration's repositories see it.
 *
 * @param id the id
 * @param name the name
 * @param priceCents the price in cents
 */
public record PricedProduct(long id, String name, long priceCents) {

}
