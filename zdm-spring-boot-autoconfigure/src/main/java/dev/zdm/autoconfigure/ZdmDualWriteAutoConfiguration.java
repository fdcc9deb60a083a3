package dev.zdm.autoconfigure;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Import;

/**
 * {@link org.springframework.boot.autoconfigure.EnableAutoConfiguration
 * Auto-configuration} for the dual-write repository proxies. Unlike
 * {@link ZdmAutoConfiguration} it never backs off, so that every repository interface
 * with implementations marked {@link dev.zdm.dualwrite.ZdmRepository @ZdmRepository}
 * always has a primary bean: routed by the phase controller when zdm runs, at the
 * requested phase when {@code zdm.enabled=false}, and refused at start-up with the reason
 * when zdm is enabled but could not start.
 */
@AutoConfiguration(after = ZdmAutoConfiguration.class)
@EnableConfigurationProperties(ZdmProperties.class)
@Import(ZdmConfigurationImportSelector.class)
public final class ZdmDualWriteAutoConfiguration {

}
