/**
 * zdm's test kit: walks an application's migration through every phase on a real
 * PostgreSQL, and checks expand and contract scripts in a plain unit test.
 */
@NullMarked
package dev.zdm.testkit;

import org.jspecify.annotations.NullMarked;
