/**
 * A second service, not the sample, that the rolling-deploy script drives with a workload
 * described in a file.
 */
@NullMarked
package dev.zdm.parcels;

import org.jspecify.annotations.NullMarked;
