/**
 * The {@code zdm} Actuator endpoint, created by
 * {@link dev.zdm.autoconfigure.ZdmEndpointAutoConfiguration}.
 */
@NullMarked
package dev.zdm.actuate.endpoint;

import org.jspecify.annotations.NullMarked;
