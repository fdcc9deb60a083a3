package dev.zdm.autoconfigure;

import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Import;

/**
 * {@link org.springframework.boot.autoconfigure.EnableAutoConfiguration
 * Auto-configuration} for the zdm endpoint.
 */
@AutoConfiguration(after = ZdmAutoConfiguration.class)
@ConditionalOnClass(ConditionalOnAvailableEndpoint.class)
@Import(ZdmConfigurationImportSelector.class)
public final class ZdmEndpointAutoConfiguration {

}
