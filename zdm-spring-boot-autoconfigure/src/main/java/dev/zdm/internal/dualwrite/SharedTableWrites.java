package dev.zdm.internal.dualwrite;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.jspecify.annotations.Nullable;

import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.util.ClassUtils;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.TableName;

/**
 * Keeps the routed repositories of several migrations on one table consistent inside a
 * transaction. An ORM's persistence context holds a write until it flushes, and knows
 * nothing of another entity class that maps the same table (each migration's
 * implementations have their own), so a repository of a second migration would read the
 * row as it was before the first one's write, or overwrite it with a stale version.
 * Before a routed call, if a routed write of another migration on a shared table is still
 * pending in this transaction, the persistence context is flushed and the entities that
 * map the shared tables are reloaded; with plain JDBC there is nothing to do.
 * <p>
 * A migration synced by the application ({@code sync: application}) needs the same within
 * itself: it writes through the entity classes of its {@code Schema.BOTH} implementation
 * and reads through those of the old or the new one, so a read after its own write in the
 * transaction makes the write visible first.
 */
final class SharedTableWrites {

	private static final boolean HIBERNATE_PRESENT = ClassUtils
		.isPresent("org.springframework.orm.jpa.EntityManagerHolder", SharedTableWrites.class.getClassLoader())
			&& ClassUtils.isPresent("org.hibernate.engine.spi.SessionImplementor",
					SharedTableWrites.class.getClassLoader());

	private final String migrationId;

	private final Set<String> tables;

	private final boolean shared;

	private final boolean ownWritesElsewhere;

	private SharedTableWrites(String migrationId, Set<String> tables, boolean shared, boolean ownWritesElsewhere) {
		this.migrationId = migrationId;
		this.tables = tables;
		this.shared = shared;
		this.ownWritesElsewhere = ownWritesElsewhere;
	}

	/**
	 * Return what keeps the given migration's routed calls consistent with the other
	 * declared migrations (and with its own writes, when it is synced by the
	 * application), or {@code null} when there is nothing to keep consistent.
	 * @param migration the migration of the routing bean
	 * @param declared every declared migration
	 * @return the tracker, or {@code null}
	 */
	static @Nullable SharedTableWrites of(MigrationDefinition migration, Collection<MigrationDefinition> declared) {
		Set<String> tables = tables(migration);
		boolean shared = declared.stream()
			.filter((other) -> !other.id().equals(migration.id()))
			.anyMatch((other) -> tables(other).stream().anyMatch(tables::contains));
		// with plain JDBC a read sees the transaction's writes whatever the mapping
		boolean ownWritesElsewhere = migration.sync() == SyncMode.APPLICATION && HIBERNATE_PRESENT;
		return (shared || ownWritesElsewhere)
				? new SharedTableWrites(migration.id(), tables, shared, ownWritesElsewhere) : null;
	}

	/**
	 * Called before every routed call of this migration: if another migration's routed
	 * write on a shared table is pending in the transaction, or before a read this one's
	 * when it is synced by the application, make it visible.
	 * @param read whether the call is a read
	 */
	void beforeCall(boolean read) {
		if (!TransactionSynchronizationManager.isSynchronizationActive()) {
			return;
		}
		Pending pending = (Pending) TransactionSynchronizationManager.getResource(Pending.class);
		if (pending == null) {
			return;
		}
		Set<String> written = new LinkedHashSet<>();
		pending.byMigration.forEach((id, tables) -> {
			if (!id.equals(this.migrationId) || (read && this.ownWritesElsewhere)) {
				tables.stream().filter(this.tables::contains).forEach(written::add);
			}
		});
		if (written.isEmpty()) {
			return;
		}
		if (HIBERNATE_PRESENT) {
			HibernatePersistenceContexts.flushAndReload(written);
		}
		pending.byMigration.clear();
	}

	/**
	 * Called after every routed write of this migration.
	 */
	void afterWrite() {
		if (!TransactionSynchronizationManager.isSynchronizationActive()) {
			return;
		}
		Pending pending = (Pending) TransactionSynchronizationManager.getResource(Pending.class);
		if (pending == null) {
			// a migration's own writes need tracking only where a persistence context
			// holds them: a JDBC write is in the database already, and tracking it costs
			// every write a few points (SameTableDualWriteBenchmark)
			if (!this.shared && !HibernatePersistenceContexts.isBound()) {
				return;
			}
			pending = new Pending();
			TransactionSynchronizationManager.bindResource(Pending.class, pending);
			TransactionSynchronizationManager.registerSynchronization(pending);
		}
		pending.byMigration.put(this.migrationId, this.tables);
	}

	private static Set<String> tables(MigrationDefinition migration) {
		Set<String> tables = new LinkedHashSet<>();
		tables.add(name(migration.table()));
		if (migration.targetTable() != null) {
			tables.add(name(migration.targetTable()));
		}
		return tables;
	}

	private static String name(TableName table) {
		return table.table().name().toLowerCase(Locale.ROOT);
	}

	/**
	 * The routed writes of a transaction not made visible yet, bound to it as a resource,
	 * and unbound when it completes or is suspended.
	 */
	private static final class Pending implements TransactionSynchronization {

		private final Map<String, Set<String>> byMigration = new HashMap<>();

		@Override
		public void suspend() {
			TransactionSynchronizationManager.unbindResourceIfPossible(Pending.class);
		}

		@Override
		public void resume() {
			TransactionSynchronizationManager.bindResource(Pending.class, this);
		}

		@Override
		public void afterCompletion(int status) {
			TransactionSynchronizationManager.unbindResourceIfPossible(Pending.class);
		}

	}

}
