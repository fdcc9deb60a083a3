package dev.zdm.internal.fleet;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.UUID;

import org.jspecify.annotations.Nullable;

/**
 * Who this instance is in the fleet registry.
 *
 * @param instanceId a unique id
 * @param applicationVersion the application's version, if known
 * @param host the host name
 * @param pid the process id
 */
public record InstanceInfo(String instanceId, @Nullable String applicationVersion, String host, long pid) {

	/**
	 * Describe this process.
	 * @param instanceId the configured id, or {@code null} to derive one from the name,
	 * host and a random suffix
	 * @param applicationName the application's name, used in a derived id
	 * @param applicationVersion the application's version, if known
	 * @return this instance
	 */
	public static InstanceInfo ofThisProcess(@Nullable String instanceId, @Nullable String applicationName,
			@Nullable String applicationVersion) {
		String host = hostName();
		long pid = ProcessHandle.current().pid();
		String id = (instanceId != null && !instanceId.isBlank()) ? instanceId
				: ((applicationName != null) ? applicationName : "app") + "@" + host + ":" + pid + "/"
						+ UUID.randomUUID().toString().substring(0, 8);
		return new InstanceInfo(id, applicationVersion, host, pid);
	}

	private static String hostName() {
		try {
			return InetAddress.getLocalHost().getHostName();
		}
		catch (UnknownHostException ex) {
			String name = ManagementFactory.getRuntimeMXBean().getName();
			int at = name.indexOf('@');
			return (at >= 0) ? name.substring(at + 1) : "unknown";
		}
	}

}
