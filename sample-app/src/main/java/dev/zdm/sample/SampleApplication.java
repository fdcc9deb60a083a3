package dev.zdm.sample;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A small customer service that renames {@code customers.email} to {@code customers.email_address} (lower-cased)
 * with zdm while it serves traffic.
 */
@SpringBootApplication
public class SampleApplication {

	public static void main(String[] args) {
		SpringApplication application = new SpringApplication(SampleApplication.class);
		application.addInitializers(new EmbeddedPostgresInitializer());
		application.run(args);
	}

}
