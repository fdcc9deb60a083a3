package dev.zdm.sample.deploy;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;

import org.jspecify.annotations.Nullable;

/**
 * One instance's HTTP address, as a load balancer would call it.
 */
public final class HttpTarget {

	private static final Duration TIMEOUT = Duration.ofSeconds(30);

	private final HttpClient client;

	private final URI base;

	HttpTarget(HttpClient client, URI base) {
		this.client = client;
		this.base = base;
	}

	/**
	 * Return the instance's base address.
	 * @return the address
	 */
	public URI base() {
		return this.base;
	}

	/**
	 * Send a request.
	 * @param method {@code GET}, {@code POST}, {@code PUT} or {@code DELETE}
	 * @param path the path, from the instance's base address
	 * @param json the JSON body, or {@code null} for none
	 * @return the response
	 * @throws IOException if the request could not be sent or answered
	 */
	public Response send(String method, String path, @Nullable String json) throws IOException {
		HttpRequest.Builder request = HttpRequest.newBuilder(this.base.resolve(path)).timeout(TIMEOUT);
		if (json != null) {
			request.header("Content-Type", "application/json").method(method, BodyPublishers.ofString(json));
		}
		else {
			request.method(method, BodyPublishers.noBody());
		}
		try {
			var response = this.client.send(request.build(), BodyHandlers.ofString());
			return new Response(response.statusCode(), response.body());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IOException("Interrupted", ex);
		}
	}

	@Override
	public String toString() {
		return this.base.toString();
	}

	/**
	 * An HTTP response.
	 *
	 * @param status the status code
	 * @param body the body
	 */
	public record Response(int status, String body) {

	}

}
