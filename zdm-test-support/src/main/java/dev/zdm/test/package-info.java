/**
 * Embedded PostgreSQL for zdm's own tests.
 */
@NullMarked
package dev.zdm.test;

import org.jspecify.annotations.NullMarked;
