package dev.zdm.internal.dualwrite;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.hibernate.engine.spi.EntityEntry;
import org.hibernate.engine.spi.SessionImplementor;
import org.hibernate.engine.spi.Status;
import org.hibernate.persister.entity.EntityPersister;

import org.springframework.orm.jpa.EntityManagerHolder;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Flushes the Hibernate sessions bound to the current transaction and reloads their
 * entities of some tables. Only loaded when Hibernate and Spring's JPA support are on the
 * class path.
 */
final class HibernatePersistenceContexts {

	private HibernatePersistenceContexts() {
	}

	/**
	 * Flush every session bound to the transaction, so that an entity class mapping one
	 * of the tables sees what another one wrote, then reload the managed entities that
	 * map one of the tables: the rows they stand for may have been written through
	 * another entity class (and their version column incremented), or by the sync
	 * trigger. An entity whose row no longer exists is detached instead, since refreshing
	 * it would fail the transaction.
	 * @param tables the tables, unqualified, lower case
	 */
	static void flushAndReload(Set<String> tables) {
		for (Object resource : TransactionSynchronizationManager.getResourceMap().values()) {
			if (resource instanceof EntityManagerHolder holder && holder.getEntityManager().isOpen()) {
				flushAndReload(holder.getEntityManager().unwrap(SessionImplementor.class), tables);
			}
		}
	}

	/**
	 * Whether an entity manager is bound to the current transaction.
	 * @return {@code true} if one is
	 */
	static boolean isBound() {
		for (Object resource : TransactionSynchronizationManager.getResourceMap().values()) {
			if (resource instanceof EntityManagerHolder) {
				return true;
			}
		}
		return false;
	}

	private static void flushAndReload(SessionImplementor session, Set<String> tables) {
		session.flush();
		Map<EntityPersister, List<Map.Entry<Object, EntityEntry>>> stale = new LinkedHashMap<>();
		for (Map.Entry<Object, EntityEntry> managed : session.getPersistenceContextInternal()
			.reentrantSafeEntityEntries()) {
			EntityEntry entry = managed.getValue();
			if (entry.getStatus() == Status.MANAGED && mapsAny(entry.getPersister(), tables)) {
				stale.computeIfAbsent(entry.getPersister(), (key) -> new ArrayList<>()).add(managed);
			}
		}
		stale.forEach((persister, entities) -> {
			List<Object> ids = entities.stream().map((entity) -> entity.getValue().getId()).toList();
			Set<Object> existing = new HashSet<>(session
				.createSelectionQuery("select id(e) from " + persister.getEntityName() + " e where id(e) in :ids",
						Object.class)
				.setParameter("ids", ids)
				.getResultList());
			for (Map.Entry<Object, EntityEntry> entity : entities) {
				if (existing.contains(entity.getValue().getId())) {
					session.refresh(entity.getKey());
				}
				else {
					session.detach(entity.getKey());
				}
			}
		});
	}

	private static boolean mapsAny(EntityPersister persister, Set<String> tables) {
		for (String space : persister.getSynchronizationSpaces()) {
			String table = space.substring(space.lastIndexOf('.') + 1).replace("\"", "").replace("`", "");
			if (tables.contains(table.toLowerCase(Locale.ROOT))) {
				return true;
			}
		}
		return false;
	}

}
