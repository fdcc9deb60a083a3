package dev.zdm.testkit;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import dev.zdm.migration.Phase;
import dev.zdm.testkit.products.ProductApplication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link PhaseWalk#conversion(Conversion)}: the examples and round trips are
 * checked once the expand DDL has run, before any scenario.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class ConversionWalkTests {

	@Test
	void wrongUpIsRefusedByTheExamplesBeforeAnyScenarioRuns(PhaseWalk walk) {
		AtomicBoolean scenarioRan = new AtomicBoolean();
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> products(walk)
				.property("zdm.migrations.products-price.up.price_cents", "trunc(price) * 100")
				.conversion(
						Conversion.of("products-price").example(Map.of("price", "7.01"), Map.of("price_cents", 701)))
				.scenario((step) -> scenarioRan.set(true))
				.run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.EXPAND))
			.withMessageContaining("zdm walk failed at phase expand (instance walk-walk-expand): migration "
					+ "'products-price': the conversion check failed before any scenario ran")
			.withMessageContaining("  - up price_cents = trunc(price) * 100 for price='7.01': expected "
					+ "price_cents='701', PostgreSQL gives '700'")
			.withMessageContaining("the round trip down(up(x)) = x fails for 3 of 3 rows of ")
			.withMessageContaining("price='7.01': up gives price_cents='700', down gives back price='7.00'");
		assertThat(scenarioRan).as("the scenario ran").isFalse();
	}

	@Test
	void rightConversionPassesItsExamplesAndRoundTripsAndTheWalkGoesOn(PhaseWalk walk) {
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> products(walk)
				.conversion(Conversion.of("products-price")
					.example(Map.of("price", "7.01"), Map.of("price_cents", 701))
					.example(Map.of("price", "0.29"), Map.of("price_cents", 29))
					.upExample(Map.of("price", "9999999999.99"), Map.of("price_cents", 999999999999L)))
				.scenario((step) -> {
					throw new IllegalStateException("the scenario runs at " + step.phase());
				})
				.run())
			.withMessageContaining("zdm walk failed at phase expand (instance walk-walk-expand): the scenario "
					+ "failed: java.lang.IllegalStateException: the scenario runs at expand");
	}

	// a tolerant type change leaves the prices it cannot take NULL: the final check
	// holds the contract, since it would drop them, and the walk says how to go on
	@Test
	void valuesUpMapsToNullHoldTheWalksContractUntilItOverridesTheFinalCheck(PhaseWalk walk) {
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> tolerant(products(walk)).timeout(Duration.ofSeconds(20)).run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.CONTRACT))
			.withMessageContaining(
					"contract held back: the final check found 1 of 3 rows of public.products with a value "
							+ "in an old column that an up reading it maps to NULL, and that no down gives back")
			.withMessageContaining("In a walk, PhaseWalk.overrideFinalCheck(\"products-price\", reason) runs the "
					+ "contract over the check");
	}

	@Test
	void aWalkThatOverridesTheFinalCheckContracts(PhaseWalk walk) {
		tolerant(products(walk)).overrideFinalCheck("products-price", "lamps are priced by hand").run();
		assertThat(walk.database().jdbc().queryForList("SELECT price_cents FROM products ORDER BY id", Long.class))
			.containsExactly(701L, 29L, null);
	}

	private static PhaseWalk tolerant(PhaseWalk walk) {
		return walk
			.property("zdm.migrations.products-price.up.price_cents",
					"CASE WHEN price < 1000 THEN round(price * 100) END")
			.conversion(Conversion.of("products-price").lossy());
	}

	static PhaseWalk products(PhaseWalk walk) {
		return walk.application(ProductApplication.class)
			.property("spring.config.name", "products")
			.beforeExpand((jdbc) -> jdbc.update(
					"INSERT INTO products (name, price) VALUES ('soap', 7.01), " + "('pen', 0.29), ('lamp', 1999.99)"));
	}

}
