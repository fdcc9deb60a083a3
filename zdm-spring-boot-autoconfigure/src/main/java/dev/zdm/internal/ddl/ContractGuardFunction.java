package dev.zdm.internal.ddl;

import java.util.List;
import java.util.stream.Collectors;

import dev.zdm.internal.ddl.script.SqlToken;
import dev.zdm.internal.fleet.MigrationStateRepository;

/**
 * The function of a contract guard: a row trigger that, while a migration's contract
 * scripts drop its old columns, refuses an update that changes one of them and an insert
 * that sets one where nothing would copy it, with SQL state {@code 55000}. It reads the
 * row as JSON, so that it names no column the scripts drop, and lets a transaction the
 * application marked as writing the new side too through
 * ({@link MigrationStateRepository#DUAL_WRITE_MARKED}). The same-table sync trigger turns
 * into one at the contract; a cross-table migration gets one of its own
 * ({@link CrossTableContractGuard}).
 */
public final class ContractGuardFunction {

	private ContractGuardFunction() {
	}

	/**
	 * Return the statement that creates or replaces a guard function.
	 * @param function the function's name, quoted and qualified as it is to be created
	 * @param migrationId the migration, named in the function's comment
	 * @param oldColumns the columns the guard keeps, as named in the table
	 * @param insertRefused the PL/pgSQL condition, on {@code written} (the new row as
	 * JSON) and {@code old_column}, under which an insert that sets an old column is
	 * refused
	 * @param message the refusal's message, a {@code format} string whose {@code %s} is
	 * the column (a {@code %} of its own doubled)
	 * @return the {@code CREATE OR REPLACE FUNCTION} statement
	 */
	public static String create(String function, String migrationId, List<String> oldColumns, String insertRefused,
			String message) {
		String columns = oldColumns.stream()
			.map(SqlToken::literal)
			.collect(Collectors.joining(", ", "ARRAY[", "]::text[]"));
		return "CREATE OR REPLACE FUNCTION " + function + "() RETURNS trigger LANGUAGE plpgsql AS $zdm$"
				+ "\n-- zdm: refuses writes of the old columns of migration '" + migrationId
				+ "' while its contract drops them. Generated.\nDECLARE\n\twritten jsonb := to_jsonb(NEW);\n"
				+ "\tprevious jsonb;\n\told_column text;\nBEGIN\n\tIF " + MigrationStateRepository.DUAL_WRITE_MARKED
				+ " THEN\n\t\tRETURN NEW;\n\tEND IF;\n\tIF TG_OP = 'UPDATE' THEN\n\t\tprevious := to_jsonb(OLD);\n"
				+ "\tEND IF;\n\tFOREACH old_column IN ARRAY " + columns + " LOOP\n"
				+ "\t\tIF (TG_OP = 'UPDATE' AND (written -> old_column) IS DISTINCT FROM (previous -> old_column))\n"
				+ "\t\t\t\tOR (TG_OP = 'INSERT' AND (written -> old_column) <> 'null'::jsonb AND " + insertRefused
				+ ") THEN\n\t\t\tRAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = format(" + SqlToken.literal(message)
				+ ", old_column);\n\t\tEND IF;\n\tEND LOOP;\n\tRETURN NEW;\nEND\n$zdm$";
	}

}
