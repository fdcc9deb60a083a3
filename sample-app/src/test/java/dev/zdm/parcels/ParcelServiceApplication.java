package dev.zdm.parcels;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A small parcel service, unrelated to the sample, that renames {@code parcels.recipient}
 * to {@code parcels.addressee} with zdm (migration {@code parcels-recipient}). Its
 * configuration is {@code parcel-service.yml}, so that the sample's
 * {@code application.yml} on the same class path plays no part.
 */
@SpringBootApplication
public class ParcelServiceApplication {

	public static void main(String[] args) {
		System.setProperty("spring.config.name", "parcel-service");
		SpringApplication.run(ParcelServiceApplication.class, args);
	}

}
