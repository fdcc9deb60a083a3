package dev.zdm.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.ddl.UnsafeStatement;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ZdmScripts#usingDatabase}: against a database's catalog the check
 * gives what start-up gives.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class ZdmScriptsDatabaseTests {

	@TempDir
	Path migration;

	@Test
	void typeChangesAreJudgedByTheColumnsCurrentType(ZdmDatabase database) throws IOException {
		database.jdbc().execute("CREATE TABLE items (id bigint PRIMARY KEY, code varchar(10), qty int)");
		Files.createDirectories(this.migration.resolve("expand"));
		Files.writeString(this.migration.resolve("expand/V1__types.sql"), """
				ALTER TABLE items ALTER COLUMN code TYPE varchar(20);
				ALTER TABLE items ALTER COLUMN qty TYPE bigint;
				""");
		ZdmScripts scripts = ZdmScripts.of("filesystem:" + this.migration);
		assertThat(scripts.findings()).extracting(UnsafeStatement::operation)
			.containsExactly(UnsafeOperation.ALTER_COLUMN_TYPE, UnsafeOperation.ALTER_COLUMN_TYPE);
		assertThat(scripts.usingDatabase(database.dataSource()).findings()).singleElement()
			.satisfies((finding) -> assertThat(finding.detail()).isEqualTo("column qty from integer to bigint"));
	}

}
