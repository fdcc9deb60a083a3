/**
 * Auto-configuration for zdm: the public auto-configurations, which import the
 * package-private configurations of {@code dev.zdm.phase}, and {@link ZdmProperties}.
 */
@NullMarked
package dev.zdm.autoconfigure;

import org.jspecify.annotations.NullMarked;
