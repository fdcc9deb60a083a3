package dev.zdm.actuate.endpoint;

/**
 * Thrown by the {@link ZdmEndpoint}'s write operations when the instance's heartbeats no
 * longer reach the migration's database: every write operation needs it, and waiting for
 * the pool's connection timeout would hold the request for it (30 s by default), then
 * fail it with a bare error. Answered {@code 503 Service Unavailable} on the web.
 */
class DatabaseUnreachableException extends RuntimeException {

	DatabaseUnreachableException(String message) {
		super(message);
	}

}
