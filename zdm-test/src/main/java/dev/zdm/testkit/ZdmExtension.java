package dev.zdm.testkit;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import org.springframework.core.annotation.AnnotatedElementUtils;

/**
 * JUnit extension behind {@link ZdmTest}: resolves {@link PhaseWalk} and {@link ZdmDatabase} parameters, each on a
 * database of its own, and drops the databases after the test.
 */
public class ZdmExtension implements ParameterResolver, AfterEachCallback {

	private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(ZdmExtension.class);

	@Override
	public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
		Class<?> type = parameterContext.getParameter().getType();
		return type == PhaseWalk.class || type == ZdmDatabase.class;
	}

	@Override
	public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
		ZdmTest settings = AnnotatedElementUtils.findMergedAnnotation(extensionContext.getRequiredTestClass(),
				ZdmTest.class);
		PostgresSource source = (settings != null) ? settings.postgres() : PostgresSource.AUTO;
		String image = (settings != null) ? settings.image() : ZdmDatabases.DEFAULT_IMAGE;
		ZdmDatabase database = ZdmDatabases.create(source, image,
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

	@SuppressWarnings("unchecked")
	private static List<ZdmDatabase> databases(ExtensionContext context) {
		return context.getStore(NAMESPACE)
			.getOrComputeIfAbsent("databases", (key) -> new ArrayList<ZdmDatabase>(), List.class);
	}

}
