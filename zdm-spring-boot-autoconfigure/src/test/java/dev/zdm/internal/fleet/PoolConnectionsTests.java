package dev.zdm.internal.fleet;

import java.io.IOException;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.SQLTransientConnectionException;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.util.PSQLException;

import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Tests for {@link PoolConnections#ranOut(Throwable)} on failures of real Hikari pools: a
 * pool whose every connection is in use ran out; one that cannot reach its database did
 * not, although Hikari reports both as a connection request that timed out.
 */
class PoolConnectionsTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void aPoolWhoseEveryConnectionIsInUseRanOut() throws Exception {
		HikariConfig config = postgres.database().newPoolConfig("ran-out", 1);
		config.setConnectionTimeout(250);
		try (HikariDataSource pool = new HikariDataSource(config); Connection held = pool.getConnection()) {
			Throwable timedOut = catchThrowable(pool::getConnection);
			assertThat(timedOut).isInstanceOf(SQLTransientConnectionException.class)
				.hasMessageContaining("active=1, idle=0");
			assertThat(PoolConnections.ranOut(timedOut)).isTrue();
			Throwable throughSpring = catchThrowable(() -> new JdbcTemplate(pool).execute("SELECT 1"));
			assertThat(throughSpring).isInstanceOf(CannotGetJdbcConnectionException.class);
			assertThat(PoolConnections.ranOut(throughSpring)).isTrue();
		}
	}

	@Test
	void aRunningPoolThatCannotReachItsDatabaseDidNotRunOut() throws Exception {
		HikariConfig config = unreachable("unreachable");
		// started without a connection, as a pool whose database went away after it
		// started: its requests time out like those of a pool that ran out
		config.setInitializationFailTimeout(-1);
		try (HikariDataSource pool = new HikariDataSource(config)) {
			Throwable timedOut = catchThrowable(pool::getConnection);
			assertThat(timedOut).isInstanceOf(SQLTransientConnectionException.class)
				.hasMessageContaining("Connection is not available, request timed out")
				.hasCauseInstanceOf(PSQLException.class);
			assertThat(PoolConnections.ranOut(timedOut)).isFalse();
			Throwable throughSpring = catchThrowable(() -> new JdbcTemplate(pool).execute("SELECT 1"));
			assertThat(throughSpring).isInstanceOf(CannotGetJdbcConnectionException.class);
			assertThat(PoolConnections.ranOut(throughSpring)).isFalse();
		}
	}

	@Test
	void aPoolStartedAsSpringBootStartsItOnADatabaseItCannotReachDidNotRunOut() throws Exception {
		HikariConfig config = unreachable("unreachable-lazy");
		try (HikariDataSource pool = new HikariDataSource()) {
			config.copyStateTo(pool);
			Throwable failed = catchThrowable(() -> new JdbcTemplate(pool).execute("SELECT 1"));
			assertThat(failed).isInstanceOf(CannotGetJdbcConnectionException.class);
			assertThat(PoolConnections.ranOut(failed)).isFalse();
		}
	}

	@Test
	void aPoolHasRoomForAsManyExpandsAtOnceAsLeaveOneConnectionOver() {
		// each expand holds 3 connections
		assertThat(PoolConnections.concurrentDdl(10)).isEqualTo(3);
		assertThat(PoolConnections.concurrentDdl(6)).isEqualTo(1);
		assertThat(PoolConnections.concurrentDdl(7)).isEqualTo(2);
		assertThat(PoolConnections.concurrentDdl(3)).isEqualTo(1);
		// a pool too small even for one: none, and start-up is refused
		assertThat(PoolConnections.concurrentDdl(2)).isZero();
		// a pool of a size Spring Boot cannot read: every expand at once, as before
		assertThat(PoolConnections.concurrentDdl(null)).isEqualTo(Integer.MAX_VALUE);
	}

	@Test
	void aPoolHasRoomForAsManyBackfillRunsAtOnceAsLeaveOneConnectionOver() {
		// each run holds 2 connections at most
		assertThat(PoolConnections.concurrentBackfills(10)).isEqualTo(4);
		assertThat(PoolConnections.concurrentBackfills(5)).isEqualTo(2);
		assertThat(PoolConnections.concurrentBackfills(4)).isEqualTo(1);
		assertThat(PoolConnections.concurrentBackfills(3)).isEqualTo(1);
		assertThat(PoolConnections.concurrentBackfills(2)).isZero();
		assertThat(PoolConnections.concurrentBackfills(null)).isEqualTo(Integer.MAX_VALUE);
	}

	private static HikariConfig unreachable(String poolName) throws IOException {
		int closedPort;
		try (ServerSocket socket = new ServerSocket(0)) {
			closedPort = socket.getLocalPort();
		}
		HikariConfig config = postgres.database().newPoolConfig(poolName, 2);
		config.setJdbcUrl("jdbc:postgresql://localhost:" + closedPort + "/postgres?connectTimeout=1");
		config.setConnectionTimeout(250);
		return config;
	}

}
