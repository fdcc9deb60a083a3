package dev.zdm.autoconfigure;

import org.springframework.context.annotation.ImportSelector;
import org.springframework.core.type.AnnotationMetadata;
import org.springframework.util.ClassUtils;

/**
 * Imports the configuration that holds the beans of the zdm auto-configuration it
 * annotates: {@code dev.zdm.phase.ZdmMetricsConfiguration} for
 * {@link ZdmMetricsAutoConfiguration}, and so on ({@code ZdmCoreConfiguration} for
 * {@link ZdmAutoConfiguration}). Those configurations are package-private, beside the
 * types they create, so they are named rather than referenced.
 */
class ZdmConfigurationImportSelector implements ImportSelector {

	private static final String ENGINE_PACKAGE = "dev.zdm.phase.";

	@Override
	public String[] selectImports(AnnotationMetadata metadata) {
		String name = ClassUtils.getShortName(metadata.getClassName()).replace("AutoConfiguration", "Configuration");
		return new String[] { ENGINE_PACKAGE + (name.equals("ZdmConfiguration") ? "ZdmCoreConfiguration" : name) };
	}

}
