package dev.zdm.testkit.people;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A small application whose {@code people-email} migration derives
 * {@code people.email_address} from {@code people.email}, walked by the kit's own tests.
 * Its configuration is {@code people.yml}.
 */
@SpringBootApplication
public class PeopleApplication {

}
