/**
 * zdm's engine: the catalog look-ups, the validation of a declaration against the
 * database, and the {@code up}/{@code down} expression checks. Not API: types are public
 * for the other engine packages.
 */
@NullMarked
package dev.zdm.internal.catalog;

import org.jspecify.annotations.NullMarked;
