package dev.zdm.sample.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * An HTTP workload described in a JSON file ({@code --workload-file}): the requests,
 * their mix, and how to read back what an acknowledged write wrote. See "Your own
 * workload" in docs/lifecycle.md for the format; {@code deploy/parcels-workload.json} in
 * the sample's test resources is an example.
 * <p>
 * The workload keeps the entities (resources with an id) it knows of. A request whose
 * path or body uses <code>${id}</code> takes an entity nobody else is using, so that
 * every read knows the value it must return; a request with {@code "id"} creates one.
 * After an acknowledged write, the write's {@code check} (a read request and what its
 * answer must hold) becomes the entity's expectation: {@code "read": true} requests check
 * it under traffic (a mismatch is a stale read) and, at the end, every entity written
 * during the deploy is checked once more (a mismatch is a lost write).
 */
public final class FileWorkload implements Workload {

	private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z0-9_]+)}");

	private static final Set<String> REQUEST_PLACEHOLDERS = Set.of("seq", "id", "random");

	private static final Set<String> METHODS = Set.of("GET", "POST", "PUT", "PATCH", "DELETE");

	private final JsonMapper json = JsonMapper.builder().build();

	private final Path file;

	private final @Nullable Seed seed;

	private final List<Request> requests;

	private final int totalWeight;

	private final Map<String, String> disagreeing;

	private final AtomicLong sequence = new AtomicLong();

	private final Map<String, Entity> entities = new ConcurrentHashMap<>();

	private final ConcurrentLinkedQueue<String> idle = new ConcurrentLinkedQueue<>();

	private final AtomicLong acknowledgedWrites = new AtomicLong();

	private final AtomicLong unknownOutcomes = new AtomicLong();

	private FileWorkload(Path file, @Nullable Seed seed, List<Request> requests, Map<String, String> disagreeing) {
		this.file = file;
		this.seed = seed;
		this.requests = requests;
		this.totalWeight = requests.stream().mapToInt(Request::weight).sum();
		this.disagreeing = disagreeing;
	}

	/**
	 * Read a workload file.
	 * @param file the file
	 * @return the workload
	 * @throws IllegalArgumentException if the file cannot be read or is not a valid
	 * workload, with what is wrong
	 */
	public static FileWorkload read(Path file) {
		JsonNode root;
		try {
			root = JsonMapper.builder().build().readTree(Files.readString(file));
		}
		catch (IOException | JacksonException ex) {
			throw new IllegalArgumentException("Cannot read the workload file " + file + ": " + ex.getMessage(), ex);
		}
		try {
			return parse(file, root);
		}
		catch (IllegalArgumentException ex) {
			throw new IllegalArgumentException("Invalid workload file " + file + ": " + ex.getMessage(), ex);
		}
	}

	private static FileWorkload parse(Path file, JsonNode root) {
		if (!root.isObject()) {
			throw new IllegalArgumentException("it must hold a JSON object with \"requests\"");
		}
		known(root, "the file", "seed", "requests", "disagreeing");
		Seed seed = null;
		JsonNode seedNode = root.get("seed");
		if (seedNode != null) {
			known(seedNode, "\"seed\"", "sql", "check");
			seed = new Seed(text(seedNode, "sql", "\"seed\""),
					Check.parse(required(seedNode, "check", "\"seed\""), "\"seed\".\"check\"", null));
		}
		JsonNode requestsNode = required(root, "requests", "the file");
		if (!requestsNode.isArray() || requestsNode.isEmpty()) {
			throw new IllegalArgumentException("\"requests\" must be a non-empty array");
		}
		List<Request> requests = new ArrayList<>();
		for (JsonNode node : requestsNode) {
			requests.add(Request.parse(node, "request " + (requests.size() + 1)));
		}
		boolean usesEntities = requests.stream().anyMatch((request) -> request.read || request.usesId());
		if (usesEntities && seed == null && requests.stream().noneMatch((request) -> request.idPointer != null)) {
			throw new IllegalArgumentException("requests use ${id} or \"read\", but nothing makes entities: add a "
					+ "request with \"id\" (a JSON pointer to the new entity's id in its answer) or a \"seed\"");
		}
		Map<String, String> disagreeing = new LinkedHashMap<>();
		JsonNode disagreeingNode = root.get("disagreeing");
		if (disagreeingNode != null) {
			if (!disagreeingNode.isObject()) {
				throw new IllegalArgumentException(
						"\"disagreeing\" must be an object: migration id -> SELECT count(*) of rows where old and new disagree");
			}
			for (String migration : disagreeingNode.propertyNames()) {
				disagreeing.put(migration, text(disagreeingNode, migration, "\"disagreeing\""));
			}
		}
		return new FileWorkload(file, seed, List.copyOf(requests), disagreeing);
	}

	@Override
	public void seed(JdbcTemplate jdbc, int rows) {
		Seed seed = this.seed;
		if (seed == null) {
			return;
		}
		List<String> ids = new ArrayList<>(rows);
		jdbc.query(seed.sql, (row) -> {
			Map<String, String> values = new HashMap<>();
			int columns = row.getMetaData().getColumnCount();
			for (int column = 1; column <= columns; column++) {
				values.put(row.getMetaData().getColumnLabel(column), String.valueOf(row.getObject(column)));
			}
			String id = values.get("id");
			if (id == null) {
				throw new IllegalArgumentException("The seed SQL of " + this.file
						+ " must return a column \"id\" (RETURNING id, ...), it returned " + values.keySet());
			}
			values.put("seq", Long.toString(this.sequence.incrementAndGet()));
			values.put("random", Integer.toString(ThreadLocalRandom.current().nextInt(1_000_000)));
			this.entities.put(id, new Entity(seed.check.resolve(values), false, false, false));
			ids.add(id);
		}, rows);
		Collections.shuffle(ids);
		this.idle.addAll(ids);
	}

	@Override
	public Outcome request(HttpTarget target) {
		Request request = pick();
		if (!request.read && !request.usesId()) {
			return send(target, request, null);
		}
		String id = this.idle.poll();
		if (id == null) {
			Request create = this.requests.stream()
				.filter((candidate) -> candidate.idPointer != null)
				.findFirst()
				.orElse(null);
			return (create != null) ? send(target, create, null) : Outcome.OK;
		}
		try {
			return request.read ? read(target, id) : send(target, request, id);
		}
		finally {
			Entity entity = this.entities.get(id);
			if (entity != null && !entity.unknown && !entity.ended) {
				this.idle.add(id);
			}
		}
	}

	private Request pick() {
		int dice = ThreadLocalRandom.current().nextInt(this.totalWeight);
		for (Request request : this.requests) {
			dice -= request.weight;
			if (dice < 0) {
				return request;
			}
		}
		throw new IllegalStateException("Weights do not add up");
	}

	private Outcome send(HttpTarget target, Request request, @Nullable String id) {
		Map<String, String> values = new HashMap<>();
		values.put("seq", Long.toString(this.sequence.incrementAndGet()));
		values.put("random", Integer.toString(ThreadLocalRandom.current().nextInt(1_000_000)));
		if (id != null) {
			values.put("id", id);
		}
		String path = resolve(request.path, values);
		String description = request.name + " (" + request.method + " " + path + ")";
		HttpTarget.Response response;
		try {
			response = target.send(request.method, path, (request.body != null) ? resolve(request.body, values) : null);
		}
		catch (IOException ex) {
			if (request.check != null) {
				this.unknownOutcomes.incrementAndGet();
				if (id != null) {
					this.entities.computeIfPresent(id, (key, entity) -> entity.asUnknown());
				}
			}
			return Outcome.unanswered(description + ": " + ex);
		}
		if (!request.accepts(response.status())) {
			return Outcome.failed(description + " answered " + response.status() + ": " + response.body());
		}
		if (request.idPointer != null) {
			String created;
			try {
				JsonNode node = this.json.readTree(response.body()).at(request.idPointer);
				if (node.isMissingNode() || node.isNull()) {
					return Outcome.failed(
							description + " answered without an id at " + request.idPointer + ": " + response.body());
				}
				created = node.asString();
			}
			catch (JacksonException ex) {
				return Outcome.failed(description + " answered no JSON: " + response.body());
			}
			values.put("id", created);
			id = created;
		}
		if (request.check != null && id != null) {
			this.entities.put(id, new Entity(request.check.resolve(values), request.ends, false, true));
			this.acknowledgedWrites.incrementAndGet();
			if (request.idPointer != null) {
				this.idle.add(id);
			}
		}
		return Outcome.OK;
	}

	private Outcome read(HttpTarget target, String id) {
		Entity entity = this.entities.get(id);
		if (entity == null) {
			return Outcome.OK;
		}
		try {
			String mismatch = entity.expected.mismatch(target, this.json);
			return (mismatch != null) ? Outcome.stale(mismatch) : Outcome.OK;
		}
		catch (IOException ex) {
			return Outcome.unanswered("GET " + entity.expected.path + ": " + ex);
		}
	}

	@Override
	public List<String> lostWrites(HttpTarget target, int threads) {
		List<Entity> written = this.entities.values()
			.stream()
			.filter((entity) -> entity.written && !entity.unknown)
			.toList();
		return Workload.readBack(written, threads, (entity) -> entity.expected.mismatch(target, this.json));
	}

	@Override
	public Map<String, Long> disagreeingRows(JdbcTemplate jdbc, List<String> migrations) {
		Map<String, Long> disagreeing = new LinkedHashMap<>();
		for (String migration : migrations) {
			String sql = this.disagreeing.get(migration);
			if (sql != null) {
				disagreeing.put(migration, jdbc.queryForObject(sql, Long.class));
			}
		}
		return disagreeing;
	}

	@Override
	public Map<String, Long> figures() {
		Map<String, Long> figures = new LinkedHashMap<>();
		figures.put("acknowledged writes", this.acknowledgedWrites.get());
		figures.put("writes with an unknown outcome (left out of the checks)", this.unknownOutcomes.get());
		figures.put("entities written and read back at the end",
				this.entities.values().stream().filter((entity) -> entity.written && !entity.unknown).count());
		return figures;
	}

	private static String resolve(String template, Map<String, String> values) {
		Matcher matcher = PLACEHOLDER.matcher(template);
		StringBuilder resolved = new StringBuilder();
		while (matcher.find()) {
			String value = values.get(matcher.group(1));
			if (value == null) {
				throw new IllegalArgumentException(
						"No value for ${" + matcher.group(1) + "} in '" + template + "': known are " + values.keySet());
			}
			matcher.appendReplacement(resolved, Matcher.quoteReplacement(value));
		}
		matcher.appendTail(resolved);
		return resolved.toString();
	}

	private static void placeholders(String template, String where, Set<String> allowed) {
		Matcher matcher = PLACEHOLDER.matcher(template);
		while (matcher.find()) {
			if (!allowed.contains(matcher.group(1))) {
				throw new IllegalArgumentException(where + " uses ${" + matcher.group(1) + "}: use one of "
						+ allowed.stream().sorted().map((name) -> "${" + name + "}").toList());
			}
		}
	}

	private static void known(JsonNode node, String where, String... fields) {
		if (!node.isObject()) {
			throw new IllegalArgumentException(where + " must be a JSON object");
		}
		List<String> allowed = List.of(fields);
		for (String name : node.propertyNames()) {
			if (!allowed.contains(name)) {
				throw new IllegalArgumentException(where + " has an unknown field \"" + name + "\": use " + allowed);
			}
		}
	}

	private static JsonNode required(JsonNode node, String field, String where) {
		JsonNode value = node.get(field);
		if (value == null || value.isNull()) {
			throw new IllegalArgumentException(where + " needs \"" + field + "\"");
		}
		return value;
	}

	private static String text(JsonNode node, String field, String where) {
		JsonNode value = required(node, field, where);
		if (!value.isString() || value.asString().isBlank()) {
			throw new IllegalArgumentException(where + ": \"" + field + "\" must be a non-empty string");
		}
		return value.asString();
	}

	private static @Nullable String optionalText(JsonNode node, String field, String where) {
		return (node.get(field) != null) ? text(node, field, where) : null;
	}

	private record Seed(String sql, Check check) {

	}

	/**
	 * One kind of request of the mix.
	 */
	private record Request(String name, int weight, boolean read, String method, String path, @Nullable String body,
			@Nullable Integer status, @Nullable String idPointer, @Nullable Check check, boolean ends) {

		static Request parse(JsonNode node, String where) {
			known(node, where, "name", "weight", "read", "method", "path", "body", "status", "id", "check", "ends");
			String name = (node.get("name") != null) ? text(node, "name", where) : where;
			where = "request \"" + name + "\"";
			JsonNode weightNode = required(node, "weight", where);
			if (!weightNode.isInt() || weightNode.asInt() < 1) {
				throw new IllegalArgumentException(where + ": \"weight\" must be a whole number of at least 1");
			}
			boolean read = node.path("read").asBoolean(false);
			if (read) {
				known(node, where + " (a read of the entity's last acknowledged write)", "name", "weight", "read");
				return new Request(name, weightNode.asInt(), true, "GET", "", null, null, null, null, false);
			}
			String method = text(node, "method", where).toUpperCase();
			if (!METHODS.contains(method)) {
				throw new IllegalArgumentException(where + ": unknown method " + method + ", use one of " + METHODS);
			}
			String path = text(node, "path", where);
			if (!path.startsWith("/")) {
				throw new IllegalArgumentException(where + ": \"path\" must start with /");
			}
			placeholders(path, where + "'s path", REQUEST_PLACEHOLDERS);
			String body = optionalText(node, "body", where);
			if (body != null) {
				placeholders(body, where + "'s body", REQUEST_PLACEHOLDERS);
			}
			Integer status = null;
			if (node.get("status") != null) {
				if (!node.get("status").isInt()) {
					throw new IllegalArgumentException(where + ": \"status\" must be an HTTP status code");
				}
				status = node.get("status").asInt();
			}
			String idPointer = optionalText(node, "id", where);
			if (idPointer != null && !idPointer.startsWith("/")) {
				throw new IllegalArgumentException(where
						+ ": \"id\" must be a JSON pointer to the new entity's id in the answer, such as \"/id\"");
			}
			Check check = (node.get("check") != null)
					? Check.parse(node.get("check"), where + "'s check", REQUEST_PLACEHOLDERS) : null;
			Request request = new Request(name, weightNode.asInt(), false, method, path, body, status, idPointer, check,
					node.path("ends").asBoolean(false));
			if (idPointer != null && request.usesId()) {
				throw new IllegalArgumentException(where + " creates an entity (\"id\") and so cannot use ${id}");
			}
			if (check != null && idPointer == null && !request.usesId()) {
				throw new IllegalArgumentException(where + " has a check but no entity: its path or body must use "
						+ "${id}, or \"id\" must say where the new entity's id is in the answer");
			}
			if (request.ends && check == null) {
				throw new IllegalArgumentException(where + " ends its entity, so it needs a \"check\" of the end "
						+ "(for example {\"path\": \"/things/${id}\", \"status\": 404})");
			}
			return request;
		}

		boolean usesId() {
			return this.path.contains("${id}") || (this.body != null && this.body.contains("${id}"));
		}

		boolean accepts(int answered) {
			return (this.status != null) ? answered == this.status : answered >= 200 && answered < 300;
		}

	}

	/**
	 * A read request and what its answer must hold: its status, values at JSON pointers,
	 * and texts the body contains.
	 */
	private record Check(String path, int status, Map<String, String> fields, List<String> contains) {

		static Check parse(JsonNode node, String where, @Nullable Set<String> allowed) {
			known(node, where, "path", "status", "fields", "contains");
			String path = text(node, "path", where);
			int status = node.path("status").asInt(200);
			Map<String, String> fields = new LinkedHashMap<>();
			JsonNode fieldsNode = node.get("fields");
			if (fieldsNode != null) {
				if (!fieldsNode.isObject()) {
					throw new IllegalArgumentException(where + ": \"fields\" must map JSON pointers to values");
				}
				for (String pointer : fieldsNode.propertyNames()) {
					if (!pointer.startsWith("/")) {
						throw new IllegalArgumentException(
								where + ": field \"" + pointer + "\" must be a JSON pointer, such as \"/name\"");
					}
					fields.put(pointer, text(fieldsNode, pointer, where));
				}
			}
			List<String> contains = new ArrayList<>();
			JsonNode containsNode = node.get("contains");
			if (containsNode != null) {
				if (!containsNode.isArray()) {
					throw new IllegalArgumentException(where + ": \"contains\" must be an array of texts");
				}
				containsNode.forEach((text) -> contains.add(text.asString()));
			}
			if (allowed != null) {
				placeholders(path, where, allowed);
				fields.values().forEach((value) -> placeholders(value, where, allowed));
				contains.forEach((value) -> placeholders(value, where, allowed));
			}
			return new Check(path, status, fields, contains);
		}

		Check resolve(Map<String, String> values) {
			Map<String, String> resolvedFields = new LinkedHashMap<>();
			this.fields.forEach((pointer, value) -> resolvedFields.put(pointer, FileWorkload.resolve(value, values)));
			return new Check(FileWorkload.resolve(this.path, values), this.status, resolvedFields,
					this.contains.stream().map((value) -> FileWorkload.resolve(value, values)).toList());
		}

		@Nullable String mismatch(HttpTarget target, JsonMapper json) throws IOException {
			HttpTarget.Response response = target.send("GET", this.path, null);
			if (response.status() != this.status) {
				return "GET " + this.path + " answered " + response.status() + ", expected " + this.status + ": "
						+ response.body();
			}
			if (!this.fields.isEmpty()) {
				JsonNode body;
				try {
					body = json.readTree(response.body());
				}
				catch (JacksonException ex) {
					return "GET " + this.path + " answered no JSON: " + response.body();
				}
				for (Map.Entry<String, String> field : this.fields.entrySet()) {
					JsonNode value = body.at(field.getKey());
					if (value.isMissingNode() || !field.getValue().equals(value.asString())) {
						return "GET " + this.path + " gave " + field.getKey() + " = "
								+ (value.isMissingNode() ? "nothing" : value.asString()) + ", acknowledged "
								+ field.getValue();
					}
				}
			}
			for (String text : this.contains) {
				if (!response.body().contains(text)) {
					return "GET " + this.path + " answered without '" + text + "': " + response.body();
				}
			}
			return null;
		}

	}

	/**
	 * What the service must answer for one entity.
	 *
	 * @param expected the check of its last acknowledged write
	 * @param ended whether no more requests go to it (deleted)
	 * @param unknown whether a write to it had an unknown outcome, so that it is left out
	 * @param written whether it was written during the deploy
	 */
	private record Entity(Check expected, boolean ended, boolean unknown, boolean written) {

		Entity asUnknown() {
			return new Entity(this.expected, this.ended, true, this.written);
		}

	}

}
