package dev.zdm.internal.catalog;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

import dev.zdm.internal.catalog.DatabaseCatalog.ColumnDefault;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.TableName;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that the catalog tells a column's constant default from one computed per row, and
 * that a default of an old column the sync trigger cannot tell from a value written is
 * warned of before the expand.
 */
class OldColumnDefaultTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@BeforeAll
	static void createTable() {
		postgres.jdbc().execute("CREATE TYPE tier AS ENUM ('basic', 'gold')");
		postgres.jdbc().execute("CREATE SEQUENCE ticket_numbers");
		postgres.jdbc()
			.execute("CREATE TABLE tickets (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'open', "
					+ "priority int DEFAULT 3, urgent boolean DEFAULT false, level tier DEFAULT 'basic', "
					+ "opened_at timestamptz DEFAULT now(), number bigint DEFAULT nextval('ticket_numbers'), "
					+ "code text DEFAULT upper('x' || 'y'), who text DEFAULT current_user, "
					+ "kind varchar(10) DEFAULT 'x', amount numeric(10, 2) DEFAULT 1.50, total bigint DEFAULT 0, "
					+ "note text, status_code text, opened_utc timestamptz)");
	}

	@Test
	void constantDefaultsAreToldFromDefaultsComputedPerRow() {
		DatabaseCatalog catalog = new DatabaseCatalog(postgres.dataSource());
		assertThat(catalog.columnDefaults(TableName.parse("public.tickets")))
			.containsOnlyKeys("status", "priority", "urgent", "level", "opened_at", "number", "code", "who", "kind",
					"amount", "total")
			.hasEntrySatisfying("status",
					(value) -> assertThat(value).isEqualTo(new ColumnDefault("'open'::text", true)))
			.hasEntrySatisfying("priority", (value) -> assertThat(value.constant()).isTrue())
			.hasEntrySatisfying("urgent", (value) -> assertThat(value.constant()).isTrue())
			.hasEntrySatisfying("level", (value) -> assertThat(value.constant()).isTrue())
			.hasEntrySatisfying("opened_at", (value) -> assertThat(value).isEqualTo(new ColumnDefault("now()", false)))
			.hasEntrySatisfying("number", (value) -> assertThat(value.constant()).isFalse())
			// immutable functions of constants, and the casts PostgreSQL wraps around a
			// constant for a varchar(10), a numeric(10, 2) or a bigint: the same in every
			// row
			.hasEntrySatisfying("code", (value) -> assertThat(value.constant()).isTrue())
			.hasEntrySatisfying("kind", (value) -> assertThat(value.constant()).isTrue())
			.hasEntrySatisfying("amount", (value) -> assertThat(value.constant()).isTrue())
			.hasEntrySatisfying("total", (value) -> assertThat(value.constant()).isTrue())
			.hasEntrySatisfying("who", (value) -> assertThat(value.constant()).isFalse());
	}

	@Test
	void anOldColumnWhoseDefaultIsNotAConstantIsWarnedOfBeforeTheExpand() {
		ListAppender<ILoggingEvent> log = new ListAppender<>();
		Logger validatorLog = (Logger) LoggerFactory.getLogger(MigrationValidator.class);
		log.start();
		validatorLog.addAppender(log);
		try {
			MigrationValidator validator = new MigrationValidator(new DatabaseCatalog(postgres.dataSource()));
			validator.validateBeforeExpand(MigrationDefinition.builder("tickets-opened")
				.table("tickets")
				.up("opened_utc", "opened_at")
				.down("opened_at", "opened_utc")
				.build(), false);
			// a constant default the trigger tells from a value: nothing to say
			validator.validateBeforeExpand(MigrationDefinition.builder("tickets-status")
				.table("tickets")
				.up("status_code", "upper(status)")
				.down("status", "lower(status_code)")
				.build(), false);
		}
		finally {
			validatorLog.detachAppender(log);
		}
		assertThat(log.list).singleElement()
			.satisfies((event) -> assertThat(event.getFormattedMessage())
				.contains("zdm: migration 'tickets-opened': old column 'opened_at' of public.tickets has the default "
						+ "now(), which is not a constant")
				.contains("Have the new side's inserts write 'opened_at' too"));
	}

}
