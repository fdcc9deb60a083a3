package dev.zdm.internal.dualwrite;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.lang.reflect.UndeclaredThrowableException;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.TransactionStatus;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.util.ReflectionUtils;

import dev.zdm.dualwrite.DualWriteCall;
import dev.zdm.dualwrite.Schema;
import dev.zdm.internal.catalog.NearestName;
import dev.zdm.internal.dualwrite.DualWriteListener.Operation;
import dev.zdm.internal.dualwrite.RepositoryMethods.Access;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Creates the bean that routes a repository interface's calls to its old or new
 * implementation by the migration's effective phase.
 * <p>
 * Reads go to the old implementation until {@code backfill} and to the new one from
 * {@code read-new} on. Writes run in a transaction (the caller's, or one opened with
 * {@code REQUIRED}) on the source-of-truth side: the old one until {@code backfill}, the
 * new one from {@code read-new} on. The other side is kept in sync in the same
 * transaction: by the {@link SameTableSyncTrigger trigger} for a same-table migration
 * ({@code sync: trigger}); by the application's own statement for {@code sync:
 * application}, whose writes go to the implementation of {@link Schema#BOTH both} sides
 * instead (from {@code dual-write} on, and until the contract DDL has run); else by
 * calling the other implementation with the same arguments (from {@code dual-write} on,
 * and until the contract DDL has run), the old side first whatever the phase so that
 * writers at adjacent phases lock rows in the same order. Any failure rolls the whole
 * write back, except a failure of a write that includes the old side at {@code contract}
 * once the contract DDL has run, which is then undone to a savepoint and ignored (and,
 * for {@code sync: application}, made again on the new side alone).
 * <p>
 * When another declared migration shares a table with this one, a routed call made after
 * a routed write of that other migration in the same transaction first makes the write
 * visible to this migration's entity classes ({@link SharedTableWrites}).
 */
public final class DualWriteRepositoryFactory {

	private DualWriteRepositoryFactory() {
	}

	/**
	 * Create a routing bean.
	 * @param <T> the repository interface
	 * @param repository the repository interface
	 * @param migrationId the migration
	 * @param oldImplementation the implementation against the old schema
	 * @param newImplementation the implementation against the new schema
	 * @param phaseController the started phase controller
	 * @param transactionManager the application's transaction manager
	 * @param states where to look up whether the contract DDL has run
	 * @return the routing bean
	 * @throws ZdmConfigurationException if a method cannot be routed or the migration is
	 * not declared
	 */
	public static <T> T create(Class<T> repository, String migrationId, T oldImplementation, T newImplementation,
			PhaseController phaseController, PlatformTransactionManager transactionManager,
			MigrationStateRepository states) {
		return create(repository, migrationId, new Implementations<>(oldImplementation, newImplementation, null),
				phaseController, transactionManager, states, DualWriteListener.NONE);
	}

	/**
	 * Create a routing bean that tells a listener about every call it makes on an
	 * implementation.
	 * @param <T> the repository interface
	 * @param repository the repository interface
	 * @param migrationId the migration
	 * @param implementations the implementations of each side
	 * @param phaseController the started phase controller
	 * @param transactionManager the application's transaction manager
	 * @param states where to look up whether the contract DDL has run
	 * @param listener the listener told about every call
	 * @return the routing bean
	 * @throws ZdmConfigurationException if a method cannot be routed or the migration is
	 * not declared
	 */
	public static <T> T create(Class<T> repository, String migrationId, Implementations<T> implementations,
			PhaseController phaseController, PlatformTransactionManager transactionManager,
			MigrationStateRepository states, DualWriteListener listener) {
		if (!repository.isInterface()) {
			throw new IllegalArgumentException(repository.getName() + " is not an interface");
		}
		Map<Method, Access> routes = RepositoryMethods.classify(repository, migrationId);
		MigrationDefinition migration = declared(repository, migrationId, phaseController.migrations());
		return create(repository, migration, phaseController.migrations(), implementations, routes,
				new ControlledPhase(phaseController, states), transactionManager, listener);
	}

	/**
	 * Return the migration a repository is routed by.
	 * @param repository the repository interface
	 * @param migrationId the migration named in its {@code @ZdmRepository}
	 * @param migrations the declared migrations
	 * @return the migration
	 * @throws ZdmConfigurationException if no such migration is declared
	 */
	static MigrationDefinition declared(Class<?> repository, String migrationId, List<MigrationDefinition> migrations) {
		return migrations.stream()
			.filter((candidate) -> candidate.id().equals(migrationId))
			.findFirst()
			.orElseThrow(() -> undeclared(repository, migrationId,
					migrations.stream().map(MigrationDefinition::id).toList()));
	}

	/**
	 * Return the failure of a repository routed by a migration that is not declared.
	 * @param repository the repository interface
	 * @param migrationId the migration named in its {@code @ZdmRepository}
	 * @param declared the ids of the declared migrations
	 * @return the failure, naming the nearest declared id
	 */
	static ZdmConfigurationException undeclared(Class<?> repository, String migrationId, Collection<String> declared) {
		String hint = NearestName.of(List.copyOf(declared), migrationId);
		return new ZdmConfigurationException(migrationId,
				"repository " + repository.getName() + " is marked with @ZdmRepository(migration = \"" + migrationId
						+ "\"), but no such migration is declared",
				((hint != null) ? "Did you mean @ZdmRepository(migration = \"" + hint + "\")? " : "")
						+ "Declare the migration under zdm.migrations." + migrationId
						+ ", or correct the migration in @ZdmRepository.");
	}

	/**
	 * Create a routing bean that routes at one fixed phase, for when zdm's phase
	 * controller does not run (zdm is disabled): no fleet decides the phase and nothing
	 * in the database is looked up. Reads and writes follow the phase as they would at
	 * that effective phase, except at {@code contract}, where only the new side is
	 * written since nothing can tell whether the contract DDL has dropped the old one.
	 * @param <T> the repository interface
	 * @param repository the repository interface
	 * @param migration the migration, as declared
	 * @param declared every declared migration, to find the ones that share a table with
	 * this one
	 * @param phase the phase to route at
	 * @param implementations the implementations of each side
	 * @param transactionManager the application's transaction manager
	 * @return the routing bean
	 * @throws ZdmConfigurationException if a method cannot be routed
	 */
	public static <T> T createAtFixedPhase(Class<T> repository, MigrationDefinition migration,
			Collection<MigrationDefinition> declared, Phase phase, Implementations<T> implementations,
			PlatformTransactionManager transactionManager) {
		if (!repository.isInterface()) {
			throw new IllegalArgumentException(repository.getName() + " is not an interface");
		}
		Map<Method, Access> routes = RepositoryMethods.classify(repository, migration.id());
		return create(repository, migration, declared, implementations, routes, new FixedPhase(phase),
				transactionManager, DualWriteListener.NONE);
	}

	private static <T> T create(Class<T> repository, MigrationDefinition migration,
			Collection<MigrationDefinition> declared, Implementations<T> implementations, Map<Method, Access> routes,
			PhaseSource phases, PlatformTransactionManager transactionManager, DualWriteListener listener) {
		implementations.requireSyncable(repository, migration);
		TransactionTemplate transactionTemplate = new TransactionTemplate(transactionManager);
		transactionTemplate.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRED);
		Handler handler = new Handler(repository, migration, implementations, phases, transactionTemplate, routes,
				listener, SharedTableWrites.of(migration, declared));
		return repository
			.cast(Proxy.newProxyInstance(repository.getClassLoader(), new Class<?>[] { repository }, handler));
	}

	private static final class Handler implements InvocationHandler {

		private final Class<?> repository;

		private final String migrationId;

		private final SyncMode sync;

		private final Implementations<?> implementations;

		private final PhaseSource phases;

		private final TransactionTemplate transactionTemplate;

		private final Map<Method, Access> routes;

		private final Map<Method, Method> accessibleMethods = new HashMap<>();

		private final DualWriteListener listener;

		private final @Nullable SharedTableWrites sharedTableWrites;

		Handler(Class<?> repository, MigrationDefinition migration, Implementations<?> implementations,
				PhaseSource phases, TransactionTemplate transactionTemplate, Map<Method, Access> routes,
				DualWriteListener listener, @Nullable SharedTableWrites sharedTableWrites) {
			this.repository = repository;
			this.migrationId = migration.id();
			this.sync = migration.sync();
			this.implementations = implementations;
			this.phases = phases;
			this.transactionTemplate = transactionTemplate;
			this.routes = routes;
			this.listener = listener;
			this.sharedTableWrites = sharedTableWrites;
			for (Method method : routes.keySet()) {
				ReflectionUtils.makeAccessible(method);
				this.accessibleMethods.put(method, method);
			}
		}

		@Override
		public @Nullable Object invoke(Object proxy, Method method, @Nullable Object[] args) throws Throwable {
			switch (method.getName()) {
				case "equals" -> {
					if (method.getParameterCount() == 1) {
						return proxy == args[0];
					}
				}
				case "hashCode" -> {
					if (method.getParameterCount() == 0) {
						return System.identityHashCode(proxy);
					}
				}
				case "toString" -> {
					if (method.getParameterCount() == 0) {
						return "Dual-write " + this.repository.getName() + " for migration '" + this.migrationId + "'";
					}
				}
				default -> {
				}
			}
			Access access = this.routes.get(method);
			if (method.isDefault()) {
				return (access == Access.WRITE)
						? inTransaction((status) -> InvocationHandler.invokeDefault(proxy, method, args))
						: InvocationHandler.invokeDefault(proxy, method, args);
			}
			if (access == Access.READ) {
				if (this.sharedTableWrites != null) {
					this.sharedTableWrites.beforeCall(true);
				}
				Phase phase = this.phases.effectivePhase(this.migrationId);
				Schema side = phase.readsNew() ? Schema.NEW : Schema.OLD;
				return observed(Operation.READ, side, false, () -> call(this.implementations.of(side), method, args));
			}
			return inTransaction((status) -> write(status, method, args));
		}

		private @Nullable Object write(TransactionStatus status, Method method, @Nullable Object[] args)
				throws Throwable {
			if (this.sharedTableWrites == null) {
				return routeWrite(status, method, args);
			}
			this.sharedTableWrites.beforeCall(false);
			Object result = routeWrite(status, method, args);
			this.sharedTableWrites.afterWrite();
			return result;
		}

		private @Nullable Object routeWrite(TransactionStatus status, Method method, @Nullable Object[] args)
				throws Throwable {
			Phase phase = this.phases.effectivePhase(this.migrationId);
			Schema source = phase.readsNew() ? Schema.NEW : Schema.OLD;
			if (this.sync == SyncMode.TRIGGER || !syncsOtherSide(phase)) {
				return callAs(phase, source, false, null, method, args);
			}
			if (this.sync == SyncMode.APPLICATION) {
				Object result = (phase == Phase.CONTRACT)
						? callUnlessContracted(status, phase, Schema.BOTH, false, method, args)
						: callAs(phase, Schema.BOTH, false, null, method, args);
				return (result != CONTRACTED) ? result : callAs(phase, Schema.NEW, false, null, method, args);
			}
			Object oldResult = (phase == Phase.CONTRACT)
					? callUnlessContracted(status, phase, Schema.OLD, true, method, args)
					: callAs(phase, Schema.OLD, source != Schema.OLD, null, method, args);
			if (oldResult == CONTRACTED) {
				oldResult = null;
			}
			Object newResult = callAs(phase, Schema.NEW, source != Schema.NEW, oldResult, method, args);
			return (source == Schema.NEW) ? newResult : oldResult;
		}

		private boolean syncsOtherSide(Phase phase) {
			if (phase == Phase.EXPAND) {
				return false;
			}
			if (phase == Phase.CONTRACT) {
				return this.phases.syncsOldSideAtContract(this.migrationId);
			}
			return true;
		}

		/**
		 * At contract, the contract DDL may drop the old side as soon as the whole fleet
		 * is there, before this instance's next heartbeat tells it so: a failed write
		 * that includes the old side is undone to a savepoint, and {@link #CONTRACTED}
		 * returned if the migration turns out to be contracted. Where the transaction has
		 * no savepoints (JPA, whose failed statement also leaves the persistence context
		 * unusable), the migration's state is read before the write instead, and the
		 * transaction marked, so that if another instance claims the contract after the
		 * read, its guard lets this transaction's old-side write through (the new side's
		 * write follows in the same transaction) instead of failing the request.
		 */
		private @Nullable Object callUnlessContracted(TransactionStatus status, Phase phase, Schema schema,
				boolean sync, Method method, @Nullable Object[] args) throws Throwable {
			Object savepoint;
			try {
				savepoint = status.createSavepoint();
			}
			catch (TransactionException ex) {
				// marks the transaction too: a guard installed by a claim after this read
				// lets its old-side write through, the new side's following it
				if (this.phases.contractRecordedMarkingDualWrite(this.migrationId)) {
					return CONTRACTED;
				}
				return callAs(phase, schema, sync, null, method, args);
			}
			// told to the listener once it is known whether the contract took the failure
			Object target = this.implementations.of(schema);
			long start = System.nanoTime();
			try {
				Object result = invokeAs(phase, schema, sync, null, target, method, args);
				this.listener.called(this.migrationId, Operation.WRITE, schema, sync, since(start), null);
				status.releaseSavepoint(savepoint);
				return result;
			}
			catch (Throwable ex) {
				status.rollbackToSavepoint(savepoint);
				if (this.phases.contractRecorded(this.migrationId)) {
					this.listener.contracted(this.migrationId, schema, sync, since(start));
					return CONTRACTED;
				}
				this.listener.called(this.migrationId, Operation.WRITE, schema, sync, since(start), ex);
				throw ex;
			}
		}

		private static Duration since(long start) {
			return Duration.ofNanos(System.nanoTime() - start);
		}

		private @Nullable Object callAs(Phase phase, Schema schema, boolean sync, @Nullable Object otherSideResult,
				Method method, @Nullable Object[] args) throws Throwable {
			Object target = this.implementations.of(schema);
			return observed(Operation.WRITE, schema, sync,
					() -> invokeAs(phase, schema, sync, otherSideResult, target, method, args));
		}

		private @Nullable Object invokeAs(Phase phase, Schema schema, boolean sync, @Nullable Object otherSideResult,
				Object target, Method method, @Nullable Object[] args) throws Throwable {
			DualWriteCall previous = (DualWriteCall) TransactionSynchronizationManager
				.unbindResourceIfPossible(DualWriteCall.class);
			TransactionSynchronizationManager.bindResource(DualWriteCall.class,
					new DualWriteCall(this.migrationId, phase, schema, sync, otherSideResult));
			try {
				return call(target, method, args);
			}
			finally {
				TransactionSynchronizationManager.unbindResource(DualWriteCall.class);
				if (previous != null) {
					TransactionSynchronizationManager.bindResource(DualWriteCall.class, previous);
				}
			}
		}

		private @Nullable Object observed(Operation operation, Schema side, boolean sync, Call call) throws Throwable {
			long start = System.nanoTime();
			@Nullable Throwable failure = null;
			try {
				return call.proceed();
			}
			catch (Throwable ex) {
				failure = ex;
				throw ex;
			}
			finally {
				this.listener.called(this.migrationId, operation, side, sync, since(start), failure);
			}
		}

		private @Nullable Object inTransaction(Invocation invocation) throws Throwable {
			Throwable[] checked = new Throwable[1];
			Object result = this.transactionTemplate.execute((status) -> {
				try {
					return invocation.proceed(status);
				}
				catch (RuntimeException | Error ex) {
					throw ex;
				}
				catch (Throwable ex) {
					status.setRollbackOnly();
					checked[0] = ex;
					return null;
				}
			});
			if (checked[0] != null) {
				throw checked[0];
			}
			return result;
		}

		private @Nullable Object call(Object target, Method method, @Nullable Object[] args) throws Throwable {
			try {
				return this.accessibleMethods.getOrDefault(method, method).invoke(target, args);
			}
			catch (InvocationTargetException ex) {
				throw ex.getTargetException();
			}
		}

	}

	/**
	 * What a write that includes the old side returns when the contract DDL turned out to
	 * have dropped it.
	 */
	private static final Object CONTRACTED = new Object();

	@FunctionalInterface
	private interface Call {

		@Nullable Object proceed() throws Throwable;

	}

	@FunctionalInterface
	private interface Invocation {

		@Nullable Object proceed(TransactionStatus status) throws Throwable;

	}

	/**
	 * Where a routing bean gets the phase it routes at.
	 */
	private interface PhaseSource {

		Phase effectivePhase(String migrationId);

		boolean syncsOldSideAtContract(String migrationId);

		boolean contractRecorded(String migrationId);

		boolean contractRecordedMarkingDualWrite(String migrationId);

	}

	/**
	 * The phase decided by the fleet, through the phase controller.
	 */
	private record ControlledPhase(PhaseController phaseController,
			MigrationStateRepository states) implements PhaseSource {

		@Override
		public Phase effectivePhase(String migrationId) {
			return this.phaseController.effectivePhase(migrationId);
		}

		@Override
		public boolean syncsOldSideAtContract(String migrationId) {
			return !this.phaseController.status(migrationId).state().isContracted();
		}

		@Override
		public boolean contractRecorded(String migrationId) {
			return this.states.find(migrationId).isContracted();
		}

		@Override
		public boolean contractRecordedMarkingDualWrite(String migrationId) {
			return this.states.isContractedMarkingDualWrite(migrationId);
		}

	}

	/**
	 * One phase, fixed, with nothing looked up in the database.
	 */
	private record FixedPhase(Phase phase) implements PhaseSource {

		@Override
		public Phase effectivePhase(String migrationId) {
			return this.phase;
		}

		@Override
		public boolean syncsOldSideAtContract(String migrationId) {
			return false;
		}

		@Override
		public boolean contractRecorded(String migrationId) {
			return false;
		}

		@Override
		public boolean contractRecordedMarkingDualWrite(String migrationId) {
			return false;
		}

	}

}
