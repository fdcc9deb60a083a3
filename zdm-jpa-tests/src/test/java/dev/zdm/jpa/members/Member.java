package dev.zdm.jpa.members;

/**
 * A member, as the service sees it whatever the schema.
 *
 * @param id the key
 * @param name the name
 * @param email the e-mail address
 * @param points the points
 */
public record Member(long id, String name, String email, long points) {

}
