package dev.zdm.internal.catalog;

/**
 * A table and, when it is partitioned, its partitions at every level, as a {@code WITH}
 * clause the catalog queries of other concerns start with. It reads {@code pg_inherits}
 * and takes no lock: {@code pg_partition_tree} takes a lock on each partition, so a query
 * through it waits behind a partition another session has locked.
 */
public final class PartitionTree {

	/**
	 * {@code WITH RECURSIVE tree (oid, relkind, root)}: the table named by the one
	 * parameter (read by {@code to_regclass}, no row when it does not exist) and its
	 * partitions, each with the table's oid as {@code root}.
	 */
	public static final String WITH = """
			/* zdm */ WITH RECURSIVE tree (oid, relkind, root) AS (
			    SELECT c.oid, c.relkind, c.oid FROM pg_class c WHERE c.oid = to_regclass(?)
			    UNION ALL
			    SELECT c.oid, c.relkind, t.root FROM tree t JOIN pg_inherits i ON i.inhparent = t.oid
			      JOIN pg_class c ON c.oid = i.inhrelid
			    WHERE t.relkind = 'p')
			""";

	private PartitionTree() {
	}

}
