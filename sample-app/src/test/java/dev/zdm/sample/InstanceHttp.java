package dev.zdm.sample;

import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.client.RestClient;

/**
 * Requests to an instance of the sample started in a test: every answer, whatever its
 * status, is returned to the test to assert on, never thrown.
 */
final class InstanceHttp {

	private InstanceHttp() {
	}

	static RestClient client(ConfigurableApplicationContext context) {
		int port = ((WebServerApplicationContext) context).getWebServer().getPort();
		return RestClient.builder()
			.baseUrl("http://localhost:" + port)
			.defaultStatusHandler((status) -> true, (request, response) -> {
			})
			.build();
	}

	static ResponseEntity<String> get(RestClient client, String path) {
		return client.get().uri(path).retrieve().toEntity(String.class);
	}

	static ResponseEntity<String> post(RestClient client, String path) {
		// the endpoint's write operations read an optional reason from a JSON body
		return client.post()
			.uri(path)
			.contentType(MediaType.APPLICATION_JSON)
			.body("{}")
			.retrieve()
			.toEntity(String.class);
	}

	static ResponseEntity<String> post(RestClient client, String path, String json) {
		return client.post()
			.uri(path)
			.contentType(MediaType.APPLICATION_JSON)
			.body(json)
			.retrieve()
			.toEntity(String.class);
	}

	static ResponseEntity<String> put(RestClient client, String path, String json) {
		return client.put()
			.uri(path)
			.contentType(MediaType.APPLICATION_JSON)
			.body(json)
			.retrieve()
			.toEntity(String.class);
	}

	static ResponseEntity<String> delete(RestClient client, String path) {
		return client.delete().uri(path).retrieve().toEntity(String.class);
	}

}
