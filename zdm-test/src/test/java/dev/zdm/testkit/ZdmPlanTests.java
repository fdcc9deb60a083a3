package dev.zdm.testkit;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

import dev.zdm.testkit.products.ProductApplication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * Tests for {@link ZdmPlan}: the plan of an application's migrations, computed with the
 * application's own schema initialization run and zdm not started.
 */
@Isolated
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class ZdmPlanTests {

	@Test
	void planShowsEachPhaseAndZdmWritesNothing(ZdmDatabase database) {
		ZdmPlan plan = ZdmPlan.of(ProductApplication.class, database, "spring.config.name=products");
		assertThat(plan.migrationIds()).containsExactly("products-price");
		assertThat(plan.statements("products-price")).containsExactly(
				"expand V1__add_price_cents.sql #1: ALTER TABLE products ADD COLUMN price_cents bigint",
				plan.statements("products-price").get(1),
				"expand contributor:SameTableSyncTrigger #2: CREATE OR REPLACE TRIGGER \"zdm_sync_products_price\" "
						+ "BEFORE INSERT OR UPDATE OF \"price\", \"price_cents\" ON \"public\".\"products\" FOR EACH ROW "
						+ "EXECUTE FUNCTION \"public\".\"zdm_sync_products_price\"()",
				plan.statements("products-price").get(3),
				"contract contributor:SameTableSyncTrigger #2: CREATE OR REPLACE TRIGGER \"zdm_sync_products_price\" "
						+ "BEFORE INSERT OR UPDATE ON \"public\".\"products\" FOR EACH ROW "
						+ "EXECUTE FUNCTION \"public\".\"zdm_sync_products_price\"()",
				"contract V1__drop_price.sql #1: ALTER TABLE products DROP COLUMN price",
				"contract contributor:SameTableSyncTrigger:after-scripts #1: DROP TRIGGER IF EXISTS "
						+ "\"zdm_sync_products_price\" ON \"public\".\"products\"",
				"contract contributor:SameTableSyncTrigger:after-scripts #2: DROP FUNCTION IF EXISTS "
						+ "\"public\".\"zdm_sync_products_price\"()");
		// while the contract script drops the old column, the trigger refuses writes of
		// it
		assertThat(plan.statements("products-price").get(3))
			.startsWith("contract contributor:SameTableSyncTrigger #1: CREATE OR REPLACE FUNCTION "
					+ "\"public\".\"zdm_sync_products_price\"() RETURNS trigger")
			.contains("refuses writes of the old columns of migration 'products-price' while its contract drops them");
		// the trigger's function as it will be once the expand added price_cents, which
		// its down expression reads
		assertThat(plan.statements("products-price").get(1))
			.startsWith("expand contributor:SameTableSyncTrigger #1: CREATE OR REPLACE FUNCTION "
					+ "\"public\".\"zdm_sync_products_price\"() RETURNS trigger")
			.contains("\"price_cents\" \"public\".\"products\".\"price_cents\"%TYPE;");
		assertThat(plan.text("products-price")).startsWith("zdm plan of migration 'products-price' on public.products")
			.contains("Phase expand: ", "Phase dual-write: ", "Phase backfill: ", "Phase read-new: ",
					"Phase contract: ", "lock: ACCESS EXCLUSIVE on products", "Unsafe-statement check: no unsafe");
		assertThat(plan.text()).isEqualTo(plan.text("products-price"));
		// the application's own schema initialization ran; zdm wrote nothing
		assertThat(database.jdbc().queryForObject("SELECT to_regclass('products') IS NOT NULL", Boolean.class))
			.isTrue();
		List<String> zdmRelations = database.jdbc()
			.queryForList("SELECT relname FROM pg_class WHERE relname LIKE 'zdm%'", String.class);
		assertThat(zdmRelations).isEmpty();
		assertThat(database.jdbc()
			.queryForList("SELECT attname FROM pg_attribute WHERE attrelid = 'products'::regclass AND attnum > 0 "
					+ "AND NOT attisdropped ORDER BY attnum", String.class))
			.containsExactly("id", "name", "price");
		assertThatIllegalArgumentException().isThrownBy(() -> plan.text("orders-total"))
			.withMessage("No migration 'orders-total' is declared; the application declares [products-price]");
	}

	@Test
	void beanThatNeedsThePhaseControllerAtStartUpFailsThePlanAndZdmWritesNothing(ZdmDatabase database) {
		// without lazy initialization every bean starts, the phase controller among them
		assertThatException()
			.isThrownBy(() -> ZdmPlan.of(ProductApplication.class, database, "spring.config.name=products",
					"spring.main.lazy-initialization=false"))
			.havingRootCause()
			.isInstanceOf(IllegalStateException.class)
			.withMessageStartingWith("A bean of the application needs zdm's phase controller at start-up");
		assertThat(database.jdbc().queryForList("SELECT relname FROM pg_class WHERE relname LIKE 'zdm%'", String.class))
			.isEmpty();
	}

}
