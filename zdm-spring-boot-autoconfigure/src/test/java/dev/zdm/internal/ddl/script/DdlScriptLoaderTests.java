package dev.zdm.internal.ddl.script;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.core.io.DefaultResourceLoader;

import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.testing.DdlTestScripts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link DdlScriptLoader}.
 */
@Tag("no-database")
class DdlScriptLoaderTests {

	@TempDir
	Path scripts;

	private final DdlScriptLoader loader = new DdlScriptLoader(new DefaultResourceLoader());

	@Test
	void loadsScriptsFromSubFoldersInVersionOrder() {
		String location = DdlTestScripts.write(this.scripts, "V10__ten.sql", "SELECT 10;");
		DdlTestScripts.write(this.scripts.resolve("more"), "V2__two.sql", "SELECT 2; SELECT 22;");
		DdlTestScripts.write(this.scripts, "V1_1__one_one.sql", "SELECT 11;");
		List<DdlScript> loaded = this.loader.load("m", DdlStep.EXPAND, List.of(location));
		assertThat(loaded).extracting(DdlScript::name)
			.containsExactly("V1_1__one_one.sql", "V2__two.sql", "V10__ten.sql");
		assertThat(loaded.get(0).description()).isEqualTo("one one");
		assertThat(loaded.get(1).statements()).hasSize(2);
	}

	@Test
	void loadsScriptsFromTheClasspath() {
		assertThat(this.loader.load("m", DdlStep.CONTRACT, List.of("classpath:db/zdm/subscribers-email/contract")))
			.extracting(DdlScript::name)
			.containsExactly("V1__drop_email.sql");
	}

	@Test
	void refusesScriptsItCannotRunSafely() {
		assertRefused("notes.sql", "SELECT 1;", "is not named V<version>__<description>.sql");
		assertRefused("V0__zero.sql", "SELECT 1;", "reserves for its baseline");
		assertRefused("V1__tx.sql", "BEGIN;\nALTER TABLE t ADD COLUMN c text;\nCOMMIT;", "controls the transaction");
		assertRefused("V1__quote.sql", "SELECT 'unterminated;", "cannot be split into statements");
	}

	@Test
	void refusesTwoScriptsWithTheSameVersion() {
		String location = DdlTestScripts.write(this.scripts.resolve("a"), "V1__first.sql", "SELECT 1;");
		DdlTestScripts.write(this.scripts.resolve("a").resolve("b"), "V1__second.sql", "SELECT 2;");
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> this.loader.load("m", DdlStep.EXPAND, List.of(location)))
			.withMessageContaining("have the same version 1");
	}

	private void assertRefused(String name, String sql, String message) {
		Path folder = this.scripts.resolve(name.replace('.', '_'));
		String location = DdlTestScripts.write(folder, name, sql);
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> this.loader.load("m", DdlStep.EXPAND, List.of(location)))
			.withMessageContaining(message);
	}

}
