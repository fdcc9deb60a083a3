/**
 * The zdm health indicator, created by
 * {@link dev.zdm.autoconfigure.ZdmHealthContributorAutoConfiguration}.
 */
@NullMarked
package dev.zdm.health;

import org.jspecify.annotations.NullMarked;
