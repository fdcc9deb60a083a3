package dev.zdm.actuate.endpoint;

/**
 * Thrown by the {@link ZdmEndpoint}'s write operations when the instance's heartbeats no
 * longer reach the migration's database, or it fails them (a full disk): every write
 * operation needs it, and waiting for the pool's connection timeout would hold the
 * request for it (30 s by default), then fail it with a bare error. Its message says
 * "unreachable" only when the database could not be reached at all, else that the
 * heartbeats fail and on what. Answered {@code 503 Service Unavailable} on the web.
 */
class DatabaseUnreachableException extends RuntimeException {

	DatabaseUnreachableException(String message) {
		super(message);
	}

}
