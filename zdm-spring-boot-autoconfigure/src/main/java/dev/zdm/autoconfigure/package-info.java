/**
 * Auto-configuration for zdm: the auto-configurations, each holding the beans it creates,
 * and {@link ZdmProperties}.
 */
@NullMarked
package dev.zdm.autoconfigure;

import org.jspecify.annotations.NullMarked;
