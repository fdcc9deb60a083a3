package dev.zdm.parcels;

/**
 * A parcel.
 *
 * @param id its id
 * @param recipient who it goes to
 */
public record Parcel(long id, String recipient) {

}
