package dev.zdm.testkit;

import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import org.springframework.core.annotation.AnnotatedElementUtils;

/**
 * JUnit extension behind {@link ZdmTest}: resolves {@link PhaseWalk} and
 * {@link ZdmDatabase} parameters, each on a database of its own, and drops the databases
 * after the test.
 */
public class ZdmExtension implements ExecutionCondition, ParameterResolver, AfterEachCallback {

	private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(ZdmExtension.class);

	@Override
	public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
		ZdmTest settings = settings(context);
		String skipped = context.getTestClass()
			.map((testClass) -> ZdmDatabases.whySkipped(testClass,
					(settings != null) ? settings.postgres() : PostgresSource.AUTO,
					(settings != null) ? settings.image() : ZdmDatabases.DEFAULT_IMAGE))
			.orElse(null);
		return (skipped != null) ? ConditionEvaluationResult.disabled(skipped)
				: ConditionEvaluationResult.enabled("PostgreSQL is available");
	}

	@Override
	public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
		Class<?> type = parameterContext.getParameter().getType();
		return type == PhaseWalk.class || type == ZdmDatabase.class;
	}

	@Override
	public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
		ZdmTest settings = settings(extensionContext);
		PostgresSource source = (settings != null) ? settings.postgres() : PostgresSource.AUTO;
		String image = (settings != null) ? settings.image() : ZdmDatabases.DEFAULT_IMAGE;
		ZdmDatabase database = ZdmDatabases.create(extensionContext.getRequiredTestClass(), source, image,
				extensionContext.getRequiredTestClass().getSimpleName() + "_"
						+ extensionContext.getRequiredTestMethod().getName());
		databases(extensionContext).add(database);
		return (parameterContext.getParameter().getType() == PhaseWalk.class) ? new PhaseWalk(database) : database;
	}

	@Override
	public void afterEach(ExtensionContext context) {
		List<ZdmDatabase> databases = databases(context);
		for (ZdmDatabase database : databases) {
			database.close();
		}
		databases.clear();
	}

	private static @Nullable ZdmTest settings(ExtensionContext context) {
		return context.getTestClass()
			.map((testClass) -> AnnotatedElementUtils.findMergedAnnotation(testClass, ZdmTest.class))
			.orElse(null);
	}

	@SuppressWarnings("unchecked")
	private static List<ZdmDatabase> databases(ExtensionContext context) {
		return context.getStore(NAMESPACE)
			.getOrComputeIfAbsent("databases", (key) -> new ArrayList<ZdmDatabase>(), List.class);
	}

}
