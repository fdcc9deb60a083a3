/**
 * The {@code zdm} actuator endpoint.
 */
@NullMarked
package dev.zdm.actuate.endpoint;

import org.jspecify.annotations.NullMarked;
