package dev.zdm.internal.locks;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

import dev.zdm.internal.locks.ReplicationLagInspector.ReplicationLag;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ReplicationLagInspector} against a real PostgreSQL, which has no
 * streaming replica: the lag of a replica is simulated where the backfill consults it
 * (see {@code BackfillObservabilityTests}).
 */
@ExtendWith(OutputCaptureExtension.class)
@Isolated
class ReplicationLagInspectorTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void privilegedRoleReadsPgStatReplication() {
		ReplicationLag lag = new ReplicationLagInspector(postgres.dataSource()).replicationLag();
		assertThat(lag.readable()).isTrue();
		assertThat(lag.replicas()).isEmpty();
		assertThat(lag.mostLagging()).isNull();
	}

	@Test
	void roleWithoutPgReadAllStatsCannotReadTheLagIsToldOnceAndThenCanOnceGranted(CapturedOutput output) {
		postgres.jdbc().execute("CREATE ROLE lag_observer LOGIN PASSWORD 'observer'");
		String url = postgres.database().url();
		// without the URL's own user parameter, which would win over the data source's
		SimpleDriverDataSource observer = new SimpleDriverDataSource(new org.postgresql.Driver(),
				url.contains("?") ? url.substring(0, url.indexOf('?')) : url, "lag_observer", "observer");
		assertThat(new org.springframework.jdbc.core.JdbcTemplate(observer).queryForObject("SELECT current_user",
				String.class))
			.isEqualTo("lag_observer");
		ReplicationLagInspector inspector = new ReplicationLagInspector(observer);
		// the privileges read again at each call here, each minute by default
		inspector.recheckAfter(Duration.ZERO);
		assertThat(inspector.replicationLag().readable()).isFalse();
		assertThat(inspector.replicationLag()).isEqualTo(new ReplicationLag(false, java.util.List.of()));
		assertThat(output.getOut().split("GRANT pg_read_all_stats TO lag_observer", -1)).hasSize(2);
		assertThat(output).contains("backfills do not hold back for replication lag");
		// a grant given while the application runs counts without a restart
		postgres.jdbc().execute("GRANT pg_read_all_stats TO lag_observer");
		assertThat(inspector.replicationLag().readable()).isTrue();
		assertThat(output).contains("role 'lag_observer' can read the replay lag of streaming replicas now");
		assertThat(output.getOut().split("GRANT pg_read_all_stats TO lag_observer", -1)).hasSize(2);
	}

	@Test
	void mostLaggingReplicaIsTheOneWithTheLongestReplayLag() {
		ReplicationLagInspector.Replica caughtUp = new ReplicationLagInspector.Replica("standby", "10.0.0.2",
				"streaming", Duration.ZERO);
		ReplicationLagInspector.Replica behind = new ReplicationLagInspector.Replica("standby-2", "10.0.0.3",
				"streaming", Duration.ofSeconds(3));
		assertThat(new ReplicationLag(true, java.util.List.of(caughtUp, behind)).mostLagging()).isEqualTo(behind);
	}

}
