package dev.zdm.testkit;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.migration.MigrationDefinition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * Tests for {@link ConversionCheck}: examples and round trips evaluated by PostgreSQL on
 * a table as the expand DDL leaves it, old and new columns side by side.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class ConversionCheckTests {

	@Test
	void rightConversionHoldsForItsExamplesTheRowsAndTheTypesValues(ZdmDatabase database) {
		createProducts(database.jdbc());
		Conversion conversion = Conversion.of("products-price")
			.example(Map.of("price", "7.01"), Map.of("price_cents", 701))
			.example(Map.of("price", 0.29), Map.of("price_cents", "29"))
			.upExample(Map.of("price", "1.005"), Map.of("price_cents", 101));
		assertThat(check(database, price("round(price * 100)", "price_cents / 100.0"), conversion)).isNull();
	}

	@Test
	void exampleOfNullValuesNamesTheirColumnsAndAnEmptySideSaysHow(ZdmDatabase database) {
		createProducts(database.jdbc());
		Conversion conversion = Conversion.of("products-price")
			.example(Collections.singletonMap("price", null), Collections.singletonMap("price_cents", null));
		assertThat(check(database, price("round(price * 100)", "price_cents / 100.0"), conversion)).isNull();
		assertThatIllegalArgumentException()
			.isThrownBy(() -> Conversion.of("products-price").example(Map.of(), Map.of()))
			.withMessageContaining("to give or expect NULL, name the column with a null value, for example "
					+ "Collections.singletonMap(\"full_name\", null)");
	}

	@Test
	void wrongUpFailsItsExampleShowingInputExpectedAndActual(ZdmDatabase database) {
		createProducts(database.jdbc());
		Conversion conversion = Conversion.of("products-price")
			.example(Map.of("price", "7.01"), Map.of("price_cents", 701));
		assertThat(check(database, price("trunc(price) * 100", "price_cents / 100.0"), conversion))
			.contains("examples that PostgreSQL's evaluation of up and down does not confirm:\n"
					+ "  - up price_cents = trunc(price) * 100 for price='7.01': expected price_cents='701', "
					+ "PostgreSQL gives '700'")
			.doesNotContain("  - down price");
	}

	@Test
	void downThatDropsTheCentsFailsTheRoundTripOnTheRowsAndOnTheTypesValues(ZdmDatabase database) {
		createProducts(database.jdbc());
		String failure = check(database, price("round(price * 100)", "price_cents / 100"),
				Conversion.of("products-price"));
		assertThat(failure).contains("the round trip down(up(x)) = x fails for 2 of 3 rows of ")
			.contains("  - id=1: price='7.01': up gives price_cents='701', down gives back price='7.00'")
			.contains("  - id=2: price='0.29': up gives price_cents='29', down gives back price='0.00'")
			.contains("the round trip down(up(x)) = x fails for values of the old columns' types")
			.contains("  - price='0.01': up gives price_cents='1', down gives back price='0.00'");
	}

	@Test
	void newColumnThatCannotHoldTheOldTypesBoundsFailsNamingTheValue(ZdmDatabase database) {
		createProducts(database.jdbc());
		database.jdbc().execute("ALTER TABLE products ALTER COLUMN price_cents TYPE integer");
		assertThat(check(database, price("round(price * 100)", "price_cents / 100.0"), Conversion.of("products-price")))
			.contains("  - price='9999999999.99': PostgreSQL fails: ERROR: integer out of range");
	}

	@Test
	void lossyConversionNeedsOnlyUpOfDownToGiveUpBack(ZdmDatabase database) {
		JdbcTemplate jdbc = database.jdbc();
		jdbc.execute("CREATE TABLE people (id bigserial PRIMARY KEY, email text NOT NULL, email_address text)");
		jdbc.update("INSERT INTO people (email) VALUES ('Ada@Example.com')");
		MigrationDefinition migration = MigrationDefinition.builder("people-email")
			.table("people")
			.key("id")
			.up("email_address", "lower(email)")
			.down("email", "email_address")
			.build();
		Conversion conversion = Conversion.of("people-email")
			.upExample(Map.of("email", "Ada@Example.com"), Map.of("email_address", "ada@example.com"));
		assertThat(new ConversionCheck(database.dataSource()).check(migration, conversion))
			.contains("  - id=1: email='Ada@Example.com': up gives email_address='ada@example.com', down gives back "
					+ "email='ada@example.com'");
		assertThat(new ConversionCheck(database.dataSource()).check(migration, conversion.lossy())).isNull();
		MigrationDefinition wrongDown = migration.toBuilder()
			.down("email", "split_part(email_address, '@', 1)")
			.build();
		assertThat(new ConversionCheck(database.dataSource()).check(wrongDown, conversion.lossy()))
			.contains("the round trip up(down(up(x))) = up(x) fails for 1 of 1 rows")
			.contains("  - id=1: email='Ada@Example.com': up gives email_address='ada@example.com', "
					+ "up(down(...)) gives email_address='ada'");
	}

	@Test
	void splitOfDualWriteMdHoldsExactlyWhileTheShorterOneLosesATrailingSpace(ZdmDatabase database) {
		JdbcTemplate jdbc = database.jdbc();
		jdbc.execute("CREATE TABLE people (id bigserial PRIMARY KEY, full_name text, first_name text, last_name text)");
		jdbc.update(
				"INSERT INTO people (full_name) VALUES (NULL), (''), ('Ada'), ('Ada '), ('Anna Maria van der Berg')");
		// the recipe in docs/dual-write.md
		MigrationDefinition split = MigrationDefinition.builder("people-name")
			.table("people")
			.key("id")
			.up("first_name", "split_part(full_name, ' ', 1)")
			.up("last_name",
					"CASE WHEN strpos(full_name, ' ') = 0 THEN NULL ELSE substr(full_name, strpos(full_name, ' ') + 1) END")
			.down("full_name", "CASE WHEN last_name IS NULL THEN first_name ELSE first_name || ' ' || last_name END")
			.build();
		Conversion conversion = Conversion.of("people-name")
			.example(Map.of("full_name", "Ada"), nullLastName("Ada"))
			.example(Map.of("full_name", "Ada "), Map.of("first_name", "Ada", "last_name", ""))
			.example(Map.of("full_name", "Anna Maria van der Berg"),
					Map.of("first_name", "Anna", "last_name", "Maria van der Berg"));
		assertThat(check(database, split, conversion)).isNull();
		MigrationDefinition shorter = split.toBuilder()
			.up("last_name", "nullif(substr(full_name, length(split_part(full_name, ' ', 1)) + 2), '')")
			.build();
		assertThat(check(database, shorter, Conversion.of("people-name")))
			.contains("  - id=4: full_name='Ada ': up gives first_name='Ada', last_name=null, down gives back "
					+ "full_name='Ada'");
	}

	@Test
	void typeChangeOfDualWriteMdHoldsExactlyForEveryIntegerOfCents(ZdmDatabase database) {
		JdbcTemplate jdbc = database.jdbc();
		jdbc.execute("CREATE TABLE invoices (id bigserial PRIMARY KEY, amount_cents integer, amount numeric(12,2))");
		jdbc.update("INSERT INTO invoices (amount_cents) VALUES (NULL), (0), (701), (-5), (2147483647), (-2147483648)");
		// the recipe in docs/dual-write.md
		MigrationDefinition typeChange = MigrationDefinition.builder("invoices-amount")
			.table("invoices")
			.key("id")
			.up("amount", "amount_cents / 100.0")
			.down("amount_cents", "(amount * 100)::integer")
			.build();
		Conversion conversion = Conversion.of("invoices-amount")
			.example(Map.of("amount_cents", 701), Map.of("amount", "7.01"))
			.example(Map.of("amount_cents", -5), Map.of("amount", "-0.05"));
		assertThat(check(database, typeChange, conversion)).isNull();
		// a down that drops the cents gives back another amount_cents
		assertThat(check(database, typeChange.toBuilder().down("amount_cents", "trunc(amount)").build(),
				Conversion.of("invoices-amount")))
			.contains("the round trip down(up(x)) = x fails");
	}

	private static Map<String, Object> nullLastName(String firstName) {
		Map<String, Object> values = new LinkedHashMap<>();
		values.put("first_name", firstName);
		values.put("last_name", null);
		return values;
	}

	@Test
	void exampleNamingAColumnThatUpDoesNotDeriveFailsSayingWhatUpDerives(ZdmDatabase database) {
		createProducts(database.jdbc());
		Conversion conversion = Conversion.of("products-price")
			.upExample(Map.of("price", "7.01"), Map.of("cents", 701));
		assertThat(check(database, price("round(price * 100)", "price_cents / 100.0"), conversion))
			.contains("  - up example price='7.01': up does not derive cents; it derives [price_cents]");
	}

	@Test
	void checkWritesNothing(ZdmDatabase database) {
		createProducts(database.jdbc());
		check(database, price("trunc(price) * 100", "price_cents / 100"),
				Conversion.of("products-price").example(Map.of("price", "7.01"), Map.of("price_cents", 701)));
		assertThat(database.jdbc().queryForList("SELECT price_cents FROM products ORDER BY id", Long.class))
			.containsOnlyNulls()
			.hasSize(3);
	}

	@Test
	void crossTableConversionIsCheckedFromTheSourceRowToTheTargetColumnsAndBack(ZdmDatabase database) {
		JdbcTemplate jdbc = database.jdbc();
		jdbc.execute("CREATE TABLE customers (id bigserial PRIMARY KEY, name text, address_street text, "
				+ "address_city text)");
		jdbc.execute("CREATE TABLE customer_addresses (customer_id bigint PRIMARY KEY, street text, city text)");
		jdbc.update("INSERT INTO customers (name, address_street, address_city) VALUES ('Ada', '1 Main Street', "
				+ "'Paris')");
		MigrationDefinition migration = MigrationDefinition.builder("customers-address")
			.table("customers")
			.key("id")
			.targetTable("customer_addresses")
			.targetKey("customer_id")
			.up("street", "address_street")
			.up("city", "upper(address_city)")
			.down("address_street", "street")
			.down("address_city", "city")
			.build();
		Conversion conversion = Conversion.of("customers-address")
			.upExample(Map.of("address_street", "1 Main Street", "address_city", "Paris"),
					Map.of("street", "1 Main Street", "city", "PARIS"));
		ConversionCheck check = new ConversionCheck(database.dataSource());
		assertThat(check.check(migration, conversion))
			.contains("the round trip down(up(x)) = x fails for 1 of 1 rows of ")
			.contains("  - id=1: address_street='1 Main Street', address_city='Paris': up gives "
					+ "street='1 Main Street', city='PARIS', down gives back address_street='1 Main Street', "
					+ "address_city='PARIS'")
			.doesNotContain("examples that");
		assertThat(check.check(migration, conversion.lossy())).isNull();
		assertThat(check.check(migration,
				Conversion.of("customers-address")
					.upExample(Map.of("address_city", "Paris"), Map.of("city", "Paris"))
					.lossy()))
			.contains("  - up city = upper(address_city) for address_city='Paris': expected city='Paris', "
					+ "PostgreSQL gives 'PARIS'");
	}

	private static String check(ZdmDatabase database, MigrationDefinition migration, Conversion conversion) {
		return new ConversionCheck(database.dataSource()).check(migration, conversion);
	}

	private static MigrationDefinition price(String up, String down) {
		return MigrationDefinition.builder("products-price")
			.table("products")
			.key("id")
			.up("price_cents", up)
			.down("price", down)
			.build();
	}

	private static void createProducts(JdbcTemplate jdbc) {
		// as the expand DDL leaves it: the new column beside the old one, not yet
		// backfilled
		jdbc.execute("CREATE TABLE products (id bigserial PRIMARY KEY, name text NOT NULL, price numeric(12,2), "
				+ "price_cents bigint)");
		jdbc.update("INSERT INTO products (name, price) VALUES ('soap', 7.01), ('pen', 0.29), ('lamp', 1999.00)");
	}

}
