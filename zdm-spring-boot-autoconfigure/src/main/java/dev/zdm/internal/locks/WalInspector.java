package dev.zdm.internal.locks;

import java.time.Duration;
import java.util.function.LongSupplier;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Reads what the database does with its write-ahead log: how many finished segments wait
 * for the archiver ({@code .ready} files of {@code pg_ls_archive_statusdir()}), and how
 * many bytes of WAL it writes per second (the difference of
 * {@code pg_current_wal_insert_lsn()} between two reads). Each is read at most once per
 * {@link #MIN_WINDOW}, however many backfills ask, so that the checks before every batch
 * cost the database nothing more. The backlog can only be read on a primary that archives
 * ({@code archive_mode} on), by a role with the privileges of {@code pg_monitor} (or a
 * superuser); the rate only on a primary. Otherwise the signal is off, and why is logged
 * once.
 */
public class WalInspector {

	/**
	 * The least time between two reads, and the shortest window a rate is taken over: a
	 * rate over the few milliseconds between two batches would be noise.
	 */
	static final Duration MIN_WINDOW = Duration.ofSeconds(1);

	private static final Log logger = LogFactory.getLog(WalInspector.class);

	private static final String SERVER = """
			/* zdm */ SELECT current_user AS role_name, pg_is_in_recovery() AS in_recovery,
			       current_setting('archive_mode') AS archive_mode,
			       has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE') AS can_list,
			       (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size') AS segment_bytes
			""";

	private static final String READY_SEGMENTS = """
			/* zdm */ SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'
			""";

	private static final String WAL_POSITION = """
			/* zdm */ SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint
			""";

	private final JdbcTemplate jdbcTemplate;

	private final LongSupplier nanoTime;

	private @Nullable Server server;

	private @Nullable ArchiveBacklog backlog;

	private long backlogReadAt;

	private final RateWindow rate = new RateWindow(MIN_WINDOW.toNanos());

	/**
	 * Create an inspector.
	 * @param dataSource the application's data source
	 */
	public WalInspector(DataSource dataSource) {
		this(dataSource, System::nanoTime);
	}

	WalInspector(DataSource dataSource, LongSupplier nanoTime) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
		this.nanoTime = nanoTime;
	}

	/**
	 * Return the WAL segments waiting to be archived, read at most once per
	 * {@link #MIN_WINDOW}.
	 * @return the backlog, or {@link ArchiveBacklog#unreadable()} if the server does not
	 * archive or this role cannot read it
	 */
	public synchronized ArchiveBacklog archiveBacklog() {
		Server server = server();
		if (!server.canReadBacklog()) {
			return ArchiveBacklog.unreadable();
		}
		long now = this.nanoTime.getAsLong();
		ArchiveBacklog last = this.backlog;
		if (last == null || now - this.backlogReadAt >= MIN_WINDOW.toNanos()) {
			Long ready = this.jdbcTemplate.queryForObject(READY_SEGMENTS, Long.class);
			last = new ArchiveBacklog(true, (ready != null) ? ready : 0, server.segmentBytes());
			this.backlog = last;
			this.backlogReadAt = now;
		}
		return last;
	}

	/**
	 * Return the bytes of WAL the database wrote per second over the last window of at
	 * least {@link #MIN_WINDOW} that ended, whoever asked for it; the position is read at
	 * most once per window.
	 * @return the rate, or {@code null} before a first window ended, or if it cannot be
	 * read (on a standby)
	 */
	public synchronized @Nullable Double walRate() {
		if (server().inRecovery()) {
			return null;
		}
		long now = this.nanoTime.getAsLong();
		if (!this.rate.due(now)) {
			return this.rate.last();
		}
		Long position = this.jdbcTemplate.queryForObject(WAL_POSITION, Long.class);
		return (position != null) ? this.rate.add(position, now) : this.rate.last();
	}

	private Server server() {
		Server known = this.server;
		if (known == null) {
			known = this.jdbcTemplate.queryForObject(SERVER,
					(rs, row) -> new Server(rs.getString("role_name"), rs.getBoolean("in_recovery"),
							rs.getString("archive_mode"), rs.getBoolean("can_list"), rs.getLong("segment_bytes")));
			known.logWhatIsOff();
			this.server = known;
		}
		return known;
	}

	/**
	 * What the server and the role allow to be read, checked once.
	 */
	private record Server(String role, boolean inRecovery, String archiveMode, boolean canList, long segmentBytes) {

		boolean archives() {
			// archive_mode=on archives on a primary only, always on a standby too
			return "always".equals(this.archiveMode) || ("on".equals(this.archiveMode) && !this.inRecovery);
		}

		boolean canReadBacklog() {
			return archives() && this.canList && !this.inRecovery;
		}

		void logWhatIsOff() {
			if (this.inRecovery) {
				logger.info("zdm: the database is a standby (in recovery): backfills do not hold back for its WAL "
						+ "archive backlog nor its WAL rate");
			}
			else if (!archives()) {
				logger.info("zdm: the database does not archive its WAL (archive_mode=" + this.archiveMode
						+ "), so backfills do not hold back for a WAL archive backlog");
			}
			else if (!this.canList) {
				logger.warn("zdm: role '" + this.role + "' cannot list the WAL segments waiting to be archived "
						+ "(pg_ls_archive_statusdir()), so backfills do not hold back for a WAL archive backlog; "
						+ "GRANT pg_monitor TO " + this.role + " to enable it");
			}
		}

	}

	/**
	 * The WAL segments a server that archives has finished and not yet archived.
	 *
	 * @param readable whether the backlog could be read: the server archives and this
	 * role may list it
	 * @param readySegments the segments waiting for the archiver ({@code .ready} files)
	 * @param segmentBytes the size of a segment ({@code wal_segment_size})
	 */
	public record ArchiveBacklog(boolean readable, long readySegments, long segmentBytes) {

		static ArchiveBacklog unreadable() {
			return new ArchiveBacklog(false, 0, 0);
		}

	}

	/**
	 * A rate taken over windows of at least a given length from successive readings of a
	 * position that only grows: the difference of the positions over the time between
	 * them.
	 */
	static final class RateWindow {

		private final long minNanos;

		private boolean started;

		private long startPosition;

		private long startNanos;

		private @Nullable Double last;

		RateWindow(long minNanos) {
			this.minNanos = minNanos;
		}

		/**
		 * Whether a reading now would end a window (or start the first).
		 */
		boolean due(long nanos) {
			return !this.started || nanos - this.startNanos >= this.minNanos;
		}

		/**
		 * Take a reading: if it ends a window, the rate over that window, which starts
		 * the next one; otherwise the last rate.
		 * @param position the position now
		 * @param nanos the time now, of {@link System#nanoTime()}
		 * @return the rate per second, or {@code null} before a first window ended
		 */
		@Nullable Double add(long position, long nanos) {
			if (this.started && position < this.startPosition) {
				// another server (a failover): its positions say nothing of this one's
				this.started = false;
				this.last = null;
			}
			if (!this.started) {
				this.started = true;
				this.startPosition = position;
				this.startNanos = nanos;
				return this.last;
			}
			long elapsed = nanos - this.startNanos;
			if (elapsed < this.minNanos) {
				return this.last;
			}
			this.last = (position - this.startPosition) * 1e9 / elapsed;
			this.startPosition = position;
			this.startNanos = nanos;
			return this.last;
		}

		@Nullable Double last() {
			return this.last;
		}

	}

}
