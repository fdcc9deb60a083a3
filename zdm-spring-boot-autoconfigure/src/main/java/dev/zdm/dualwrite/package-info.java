/**
 * The dual-write API: {@link ZdmRepository @ZdmRepository} marks an implementation of a
 * repository interface for one schema shape, {@link ZdmRead @ZdmRead} and
 * {@link ZdmWrite @ZdmWrite} tell reads from writes, {@link DualWriteCall} tells an
 * implementation which call it serves. The routing proxies are built in
 * {@code dev.zdm.internal.dualwrite}.
 */
@NullMarked
package dev.zdm.dualwrite;

import org.jspecify.annotations.NullMarked;
