package dev.zdm.sample;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.web.client.RestClient;

import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that every metric the Grafana dashboard in {@code docs/grafana} queries, with
 * every label it groups by, exists in a running application's
 * {@code /actuator/prometheus}.
 */
@Isolated
class PrometheusDashboardTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final Path DASHBOARD = Path.of("..", "docs", "grafana", "zdm-dashboard.json");

	private static final Pattern EXPRESSION = Pattern
		.compile("\"(?:expr|definition)\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

	private static final Pattern METRIC = Pattern.compile("\\bzdm_[a-z0-9_]+\\b");

	private static final Pattern GROUPING = Pattern.compile("\\bby \\(([^)]*)\\)");

	@Test
	void everyMetricAndLabelTheDashboardQueriesIsExposed() throws IOException {
		List<String> expressions = expressions(Files.readString(DASHBOARD));
		assertThat(expressions).hasSizeGreaterThan(30);
		try (ConfigurableApplicationContext context = start()) {
			RestClient client = client(context);
			// expand, dual-write, the backfill and its verification: far more than
			// Awaitility's default 10 s on a loaded machine
			await().atMost(Duration.ofMinutes(2))
				.untilAsserted(() -> assertThat(
						client.get().uri("/actuator/zdm/customers-email").retrieve().body(String.class))
					.contains("\"verified\":true"));
			String scrape = client.get().uri("/actuator/prometheus").retrieve().body(String.class);
			List<String> missing = new ArrayList<>();
			for (String expression : expressions) {
				Set<String> labels = new LinkedHashSet<>();
				Matcher grouping = GROUPING.matcher(expression);
				while (grouping.find()) {
					for (String label : grouping.group(1).split(",")) {
						labels.add(label.strip());
					}
				}
				Matcher metric = METRIC.matcher(expression);
				while (metric.find()) {
					List<String> series = series(scrape, metric.group());
					if (series.isEmpty()) {
						missing.add(metric.group());
						continue;
					}
					assertThat(series).as("series of %s", metric.group())
						.anySatisfy((line) -> assertThat(line).contains("migration=\"customers-email\""));
					for (String label : labels) {
						if (!series.stream().allMatch((line) -> line.contains(label + "=\""))) {
							missing.add(metric.group() + " by " + label);
						}
					}
				}
			}
			assertThat(missing).as("metrics and labels the dashboard queries but the application does not expose")
				.isEmpty();
		}
	}

	private static List<String> expressions(String dashboard) {
		List<String> expressions = new ArrayList<>();
		Matcher matcher = EXPRESSION.matcher(dashboard);
		while (matcher.find()) {
			expressions.add(matcher.group(1).replace("\\\"", "\""));
		}
		return expressions;
	}

	private static List<String> series(String scrape, String metric) {
		return scrape.lines().filter((line) -> line.startsWith(metric + "{") || line.startsWith(metric + " ")).toList();
	}

	private static ConfigurableApplicationContext start() {
		String[] arguments = Stream.concat(Stream.of(postgres.springProperties()),
				Stream.of("server.port=0", "spring.main.banner-mode=off", "logging.level.root=warn",
						"management.endpoints.web.exposure.include=health,zdm,prometheus",
						"zdm.migrations.customers-email.phase=backfill", "zdm.fleet.heartbeat-interval=200ms",
						"zdm.fleet.timeout=2s"))
			.map((property) -> "--" + property)
			.toArray(String[]::new);
		return new SpringApplicationBuilder(SampleApplication.class).run(arguments);
	}

	private static RestClient client(ConfigurableApplicationContext context) {
		int port = ((WebServerApplicationContext) context).getWebServer().getPort();
		return RestClient.builder().baseUrl("http://localhost:" + port).build();
	}

}
