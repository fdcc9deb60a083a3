package dev.zdm.sample.deploy;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ServiceInstance}'s start at a low priority, and its raise back to
 * normal priority, on real processes.
 */
@EnabledOnOs(OS.LINUX)
@Tag("no-database")
class ServiceInstanceTests {

	@TempDir
	Path temp;

	@Test
	void instanceStartedNicedHasEveryThreadRaisedToNormalPriorityIfAllowed() throws Exception {
		File log = this.temp.resolve("instance.log").toFile();
		// A wrapper with a child, as a user's start script would be: both must be raised.
		ServiceInstance instance = ServiceInstance.start("niced", List.of("sh", "-c", "sleep 60 & wait"), List.of(), 1,
				log, 19);
		try {
			awaitChild(instance);
			assertThat(niceness(instance)).containsOnly(19).hasSizeGreaterThanOrEqualTo(2);
			String failure = instance.raisePriority();
			if (mayRaisePriority()) {
				assertThat(failure).isNull();
				assertThat(niceness(instance)).containsOnly(0);
			}
			else {
				assertThat(failure).isNotBlank();
				assertThat(niceness(instance)).containsOnly(19);
			}
		}
		finally {
			instance.process().toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
			instance.stop(Duration.ofSeconds(10));
		}
	}

	private static void awaitChild(ServiceInstance instance) throws InterruptedException {
		long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
		while (instance.process().toHandle().descendants().findAny().isEmpty() && System.nanoTime() < deadline) {
			Thread.sleep(20);
		}
	}

	private static List<Integer> niceness(ServiceInstance instance) throws IOException {
		List<Integer> niceness = new ArrayList<>();
		List<ProcessHandle> processes = Stream
			.concat(Stream.of(instance.process().toHandle()), instance.process().toHandle().descendants())
			.toList();
		for (ProcessHandle process : processes) {
			String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
			niceness.add(Integer.valueOf(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[16]));
		}
		return niceness;
	}

	// Lowering a niceness needs CAP_SYS_NICE (root has it) or a high enough RLIMIT_NICE.
	private static boolean mayRaisePriority() throws IOException {
		String status = Files.readString(Path.of("/proc/self/status"));
		long effective = status.lines()
			.filter((line) -> line.startsWith("CapEff:"))
			.map((line) -> Long.parseLong(line.substring(7).strip(), 16))
			.findFirst()
			.orElse(0L);
		long capSysNice = 1L << 23;
		if ((effective & capSysNice) != 0) {
			return true;
		}
		return Files.readString(Path.of("/proc/self/limits"))
			.lines()
			.filter((line) -> line.startsWith("Max nice priority"))
			.map((line) -> line.substring("Max nice priority".length()).strip().split("\\s+")[0])
			.anyMatch((limit) -> limit.equals("unlimited") || Integer.parseInt(limit) >= 20);
	}

}
