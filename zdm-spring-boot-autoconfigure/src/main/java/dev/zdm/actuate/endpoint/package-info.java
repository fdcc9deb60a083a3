/**
 * PLACEHOLDER dev.zdm.actuate.endpoint.
 */
@NullMarked
package dev.zdm.actuate.endpoint;

import org.jspecify.annotations.NullMarked;
