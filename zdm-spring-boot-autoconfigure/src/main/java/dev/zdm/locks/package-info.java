/**
 * Lock and transaction figures read from PostgreSQL's statistics views.
 */
@NullMarked
package dev.zdm.locks;

import org.jspecify.annotations.NullMarked;
