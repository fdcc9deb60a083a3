package dev.zdm.internal.backfill;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import javax.sql.DataSource;

import org.springframework.core.InfrastructureProxy;
import org.springframework.jdbc.datasource.DelegatingDataSource;

import dev.zdm.internal.backfill.ApplicationLatency.Totals;

/**
 * zdm's own calls on the application's connection pool (heartbeats, progress writes, load
 * checks, the endpoint's reads, the copy's own connections), counted as the pool's meters
 * count them, so that the pacing reads the application's calls without them: with little
 * traffic of its own, an application's "latency" was zdm's (an operator polling
 * {@code /actuator/zdm} beside an outside workload read {@code 0.39 ms against 0.00 ms,
 * 454x} and held the copy at a few hundred rows a second).
 * <p>
 * zdm's engine runs on {@link #counting(DataSource)} of the application's data source. It
 * is an {@link InfrastructureProxy}, so Spring's transactions see the application's data
 * source through it: a statement of zdm's inside an application's transaction joins it,
 * as it did on the data source itself.
 */
public final class OwnPoolCalls {

	private final LongAdder calls = new LongAdder();

	private final LongAdder acquireNanos = new LongAdder();

	private final LongAdder usageMillis = new LongAdder();

	/**
	 * Return a data source whose connections are counted as zdm's own.
	 * @param application the application's data source
	 * @return the data source zdm's engine runs on
	 */
	public DataSource counting(DataSource application) {
		return (application instanceof Counting) ? application : new Counting(application, this);
	}

	/**
	 * Return the application's data source behind zdm's.
	 * @param dataSource a data source of {@link #counting(DataSource)}, or any other
	 * @return the data source it counts the calls of, or the one given
	 */
	public static DataSource application(DataSource dataSource) {
		return (dataSource instanceof Counting counting) ? counting.getWrappedObject() : dataSource;
	}

	/**
	 * Return the totals of zdm's own calls so far, as the pool's meters time them: the
	 * wait for a connection in nanoseconds and its use in whole milliseconds (HikariCP's
	 * {@code hikaricp.connections.usage}), counted when it returns to the pool.
	 * @return the totals
	 */
	public Totals totals() {
		return new Totals(this.calls.sum(),
				this.acquireNanos.sum() + (double) TimeUnit.MILLISECONDS.toNanos(this.usageMillis.sum()));
	}

	private static final class Counting extends DelegatingDataSource implements InfrastructureProxy {

		private final OwnPoolCalls calls;

		Counting(DataSource application, OwnPoolCalls calls) {
			super(application);
			this.calls = calls;
		}

		@Override
		public Connection getConnection() throws SQLException {
			long start = System.nanoTime();
			Connection connection = obtainTargetDataSource().getConnection();
			return counted(connection, start);
		}

		@Override
		public Connection getConnection(String username, String password) throws SQLException {
			long start = System.nanoTime();
			Connection connection = obtainTargetDataSource().getConnection(username, password);
			return counted(connection, start);
		}

		private Connection counted(Connection connection, long start) {
			long borrowed = System.nanoTime();
			this.calls.acquireNanos.add(borrowed - start);
			return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
					new Class<?>[] { Connection.class }, new Use(connection, borrowed, this.calls));
		}

		@Override
		public DataSource getWrappedObject() {
			return obtainTargetDataSource();
		}

		@Override
		public String toString() {
			return "zdm's own calls on " + obtainTargetDataSource();
		}

	}

	/**
	 * A connection borrowed by zdm: counted once, when it goes back to the pool.
	 */
	private static final class Use implements InvocationHandler {

		private final Connection connection;

		private final long borrowed;

		private final OwnPoolCalls calls;

		private final AtomicLong returned = new AtomicLong();

		Use(Connection connection, long borrowed, OwnPoolCalls calls) {
			this.connection = connection;
			this.borrowed = borrowed;
			this.calls = calls;
		}

		@Override
		public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
			switch (method.getName()) {
				case "equals":
					return proxy == args[0];
				case "hashCode":
					return System.identityHashCode(proxy);
				case "toString":
					return "zdm's " + this.connection;
				default:
			}
			try {
				return method.invoke(this.connection, args);
			}
			catch (InvocationTargetException ex) {
				throw ex.getTargetException();
			}
			finally {
				// counted once the pool has it back, as the pool's meters count it
				if (method.getName().equals("close") && this.returned.compareAndSet(0, 1)) {
					this.calls.calls.increment();
					this.calls.usageMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - this.borrowed));
				}
			}
		}

	}

}
