package dev.zdm.sample;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A small customer service that renames {@code customers.email} to
 * {@code customers.email_address} (lower-cased) with zdm while it serves traffic.
 */
@SpringBootApplication
public class SampleApplication {

	/**
	 * Run an instance of the sample or, with {@code database} as first argument, only its
	 * embedded PostgreSQL.
	 * @param args the arguments
	 * @throws InterruptedException if interrupted while the database runs
	 */
	public static void main(String[] args) throws InterruptedException {
		if (args.length > 0 && args[0].equals("database")) {
			SampleDatabase.run(args);
			return;
		}
		SpringApplication application = new SpringApplication(SampleApplication.class);
		application.addInitializers(new EmbeddedPostgresInitializer());
		application.run(args);
	}

}
