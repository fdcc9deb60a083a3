package dev.zdm.testkit;

import java.util.List;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.Extension;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.junit.jupiter.api.extension.TestTemplateInvocationContext;
import org.junit.jupiter.api.extension.TestTemplateInvocationContextProvider;

import org.springframework.core.annotation.AnnotatedElementUtils;

import dev.zdm.migration.Phase;

/**
 * JUnit extension behind {@link PhaseTest}: one invocation per phase, one walk per test
 * method.
 */
class PhaseTestExtension implements TestTemplateInvocationContextProvider {

	private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace
		.create(PhaseTestExtension.class);

	@Override
	public boolean supportsTestTemplate(ExtensionContext context) {
		return context.getTestMethod().map((method) -> method.isAnnotationPresent(PhaseTest.class)).orElse(false);
	}

	@Override
	public Stream<TestTemplateInvocationContext> provideTestTemplateInvocationContexts(ExtensionContext context) {
		PhaseTest settings = context.getRequiredTestMethod().getAnnotation(PhaseTest.class);
		Walk walk = context.getStore(NAMESPACE)
			.getOrComputeIfAbsent(Walk.class, (key) -> new Walk(context, settings), Walk.class);
		return Phase.steps().stream().map((phase) -> new PhaseInvocation(walk, phase));
	}

	/**
	 * The walk of one test method: its database and the instance of the current phase.
	 */
	private static final class Walk implements AutoCloseable {

		private final ZdmDatabase database;

		private final PhaseWalk walk;

		private @Nullable WalkInstance instance;

		private @Nullable WalkInstance kept;

		private @Nullable Phase failedAt;

		private long enteredAt;

		private boolean closed;

		Walk(ExtensionContext context, PhaseTest settings) {
			ZdmTest zdmTest = AnnotatedElementUtils.findMergedAnnotation(context.getRequiredTestClass(), ZdmTest.class);
			this.database = ZdmDatabases.create(context.getRequiredTestClass(),
					(zdmTest != null) ? zdmTest.postgres() : PostgresSource.AUTO,
					(zdmTest != null) ? zdmTest.image() : ZdmDatabases.DEFAULT_IMAGE,
					context.getRequiredTestClass().getSimpleName() + "_" + context.getRequiredTestMethod().getName());
			this.walk = new PhaseWalk(this.database).application(settings.application())
				.migrations(settings.migrations());
			for (String property : settings.properties()) {
				int equals = property.indexOf('=');
				if (equals < 1) {
					throw new IllegalArgumentException(
							"@PhaseTest property '" + property + "' is not written as key=value");
				}
				this.walk.property(property.substring(0, equals).trim(), property.substring(equals + 1).trim());
			}
			if (settings.beforeExpand().length > 0) {
				this.walk.beforeExpand(settings.beforeExpand());
			}
			if (settings.restartEveryPhase()) {
				this.walk.restartEveryPhase();
			}
		}

		void enter(Phase phase) {
			Assumptions.assumeTrue(this.failedAt == null,
					() -> "the walk failed at phase " + this.failedAt + "; " + phase + " is skipped");
			try {
				WalkInstance running = this.kept;
				this.kept = null;
				if (running != null) {
					this.instance = running;
					this.walk.move(running, phase);
				}
				else {
					running = this.walk.start("walk", phase);
					this.instance = running;
				}
				this.walk.enter(List.of(running));
			}
			catch (RuntimeException | Error ex) {
				this.failedAt = phase;
				throw ex;
			}
			this.enteredAt = System.nanoTime();
		}

		PhaseStep step() {
			return this.walk.stepOf(requiredInstance());
		}

		Object bean(Class<?> type) {
			return requiredInstance().context().getBean(type);
		}

		boolean hasBean(Class<?> type) {
			return this.instance != null && this.instance.context().getBeanProvider(type).getIfUnique() != null;
		}

		void leave(Phase phase, boolean testFailed) {
			WalkInstance running = this.instance;
			this.instance = null;
			if (running == null) {
				return;
			}
			this.walk.testMethodRan(this.enteredAt);
			boolean keep = false;
			try {
				if (testFailed) {
					this.failedAt = phase;
				}
				else {
					this.walk.check(List.of(running));
					int step = Phase.steps().indexOf(phase);
					keep = step + 1 < Phase.steps().size()
							&& this.walk.movesWithoutRestart(phase, Phase.steps().get(step + 1));
				}
			}
			catch (RuntimeException | Error ex) {
				this.failedAt = phase;
				throw ex;
			}
			finally {
				if (keep) {
					this.kept = running;
				}
				else if (this.failedAt == null) {
					// replaced by the next phase's instance, as a deploy replaces it: it
					// leaves the fleet for good, so the contract does not wait for it
					this.walk.retire(running);
				}
				else {
					this.walk.stop(running);
				}
			}
		}

		private WalkInstance requiredInstance() {
			if (this.instance == null) {
				throw new IllegalStateException("No instance of the application runs");
			}
			return this.instance;
		}

		@Override
		public void close() {
			// after the last phase, and again when JUnit closes the store
			if (this.closed) {
				return;
			}
			this.closed = true;
			for (WalkInstance running : new WalkInstance[] { this.instance, this.kept }) {
				if (running != null) {
					this.walk.stop(running);
				}
			}
			this.walk.report();
			this.database.close();
		}

	}

	/**
	 * One phase of the walk.
	 */
	private static final class PhaseInvocation implements TestTemplateInvocationContext {

		private final Walk walk;

		private final Phase phase;

		PhaseInvocation(Walk walk, Phase phase) {
			this.walk = walk;
			this.phase = phase;
		}

		@Override
		public String getDisplayName(int invocationIndex) {
			return "[" + this.phase + "]";
		}

		@Override
		public List<Extension> getAdditionalExtensions() {
			return List.of(new PhaseCallbacks(this.walk, this.phase));
		}

	}

	/**
	 * Starts the phase's instance before the test, resolves its beans, and checks and
	 * stops it after.
	 */
	private static final class PhaseCallbacks
			implements BeforeEachCallback, AfterEachCallback, ParameterResolver, TestExecutionExceptionHandler {

		private final Walk walk;

		private final Phase phase;

		PhaseCallbacks(Walk walk, Phase phase) {
			this.walk = walk;
			this.phase = phase;
		}

		@Override
		public void beforeEach(ExtensionContext context) {
			this.walk.enter(this.phase);
		}

		@Override
		public void afterEach(ExtensionContext context) {
			this.walk.leave(this.phase, context.getExecutionException().isPresent());
			if (this.phase == Phase.CONTRACT) {
				// the last phase: nothing uses the walk's database any more
				this.walk.close();
			}
		}

		/**
		 * Name the phase in a failure of the test method, which reports run by the
		 * invocation's index show without the invocation's name; the failure itself is
		 * left as it is, for the IDE's comparison of expected and actual.
		 */
		@Override
		public void handleTestExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
			throwable.addSuppressed(new PhaseTestFailedAt(this.phase));
			throw throwable;
		}

		@Override
		public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
			Class<?> type = parameterContext.getParameter().getType();
			return type == PhaseStep.class || this.walk.hasBean(type);
		}

		@Override
		public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
			Class<?> type = parameterContext.getParameter().getType();
			return (type == PhaseStep.class) ? this.walk.step() : this.walk.bean(type);
		}

	}

	/**
	 * Where a {@code @PhaseTest} method failed, added to its failure.
	 */
	private static final class PhaseTestFailedAt extends RuntimeException {

		private static final long serialVersionUID = 1L;

		PhaseTestFailedAt(Phase phase) {
			super("the @PhaseTest method failed at phase " + phase, null, false, false);
		}

	}

}
