package dev.zdm.sample.deploy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The sample's traffic: customers created (with an address), their e-mail and address
 * changed, read back and deleted, on rows that existed before the deploy as well as new
 * ones. Every customer is used by one request at a time, so each read knows the value it
 * must return.
 */
public class CustomerWorkload implements Workload {

	private static final String EMAIL = "customers-email";

	private static final String ADDRESS = "customers-address";

	private final JsonMapper json = JsonMapper.builder().build();

	private final Map<Long, Customer> customers = new ConcurrentHashMap<>();

	private final ConcurrentLinkedQueue<Long> idle = new ConcurrentLinkedQueue<>();

	private final AtomicLong acknowledgedWrites = new AtomicLong();

	private final AtomicLong unknownOutcomes = new AtomicLong();

	@Override
	public void seed(JdbcTemplate jdbc, int rows) {
		List<Long> ids = new ArrayList<>(rows);
		jdbc.query("INSERT INTO customers (name, email, address_street, address_city) "
				+ "SELECT 'customer ' || i, 'Customer.' || i || '@Example.com', i || ' Main Street', 'City ' || (i % 100) "
				+ "FROM generate_series(1, ?) AS i RETURNING id, email, address_street, address_city", (row) -> {
					long id = row.getLong(1);
					this.customers.put(id,
							new Customer(row.getString(2), new Address(row.getString(3), row.getString(4)), false));
					ids.add(id);
				}, rows);
		Collections.shuffle(ids);
		this.idle.addAll(ids);
	}

	@Override
	public Outcome request(HttpTarget target) {
		int dice = ThreadLocalRandom.current().nextInt(100);
		Long id = (dice < 20) ? null : this.idle.poll();
		if (id == null) {
			return create(target);
		}
		Customer customer = this.customers.get(id);
		boolean release = true;
		try {
			if (dice < 40) {
				return updateEmail(target, id, customer);
			}
			if (dice < 55) {
				return updateAddress(target, id, customer);
			}
			if (dice < 75) {
				return readCustomer(target, id, customer);
			}
			if (dice < 93) {
				return readAddress(target, id, customer);
			}
			release = false;
			return delete(target, id, customer);
		}
		finally {
			Customer now = this.customers.get(id);
			if (release && now != null && !now.unknown()) {
				this.idle.add(id);
			}
		}
	}

	private Outcome create(HttpTarget target) {
		int n = ThreadLocalRandom.current().nextInt(1_000_000);
		String email = "New.Customer." + n + "@Example.com";
		Address address = new Address(n + " New Street", "New City " + (n % 10));
		try {
			HttpTarget.Response response = target.send("POST", "/customers", "{\"name\":\"new customer\",\"email\":\""
					+ email + "\",\"street\":\"" + address.street() + "\",\"city\":\"" + address.city() + "\"}");
			if (response.status() != 201) {
				return Outcome.failed("create answered " + response.status() + ": " + response.body());
			}
			long id = this.json.readTree(response.body()).get("id").asLong();
			this.customers.put(id, new Customer(email, address, false).touched());
			this.acknowledgedWrites.incrementAndGet();
			this.idle.add(id);
			return Outcome.OK;
		}
		catch (IOException ex) {
			this.unknownOutcomes.incrementAndGet();
			return Outcome.unanswered("create: " + ex);
		}
	}

	private Outcome updateEmail(HttpTarget target, long id, Customer customer) {
		String email = "Changed." + ThreadLocalRandom.current().nextInt(1_000_000) + "@Example.com";
		return write(target, id, "PUT", "/customers/" + id + "/email", "{\"email\":\"" + email + "\"}",
				customer.withEmail(email));
	}

	private Outcome updateAddress(HttpTarget target, long id, Customer customer) {
		int n = ThreadLocalRandom.current().nextInt(1_000_000);
		Address address = new Address(n + " Changed Road", "Changed City " + (n % 10));
		return write(target, id, "PUT", "/customers/" + id + "/address",
				"{\"street\":\"" + address.street() + "\",\"city\":\"" + address.city() + "\"}",
				customer.withAddress(address));
	}

	private Outcome delete(HttpTarget target, long id, Customer customer) {
		return write(target, id, "DELETE", "/customers/" + id, null, customer.asDeleted());
	}

	private Outcome write(HttpTarget target, long id, String method, String path, @Nullable String body,
			Customer written) {
		try {
			HttpTarget.Response response = target.send(method, path, body);
			if (response.status() != 204) {
				return Outcome.failed(method + " " + path + " answered " + response.status() + ": " + response.body());
			}
			this.customers.put(id, written.touched());
			this.acknowledgedWrites.incrementAndGet();
			return Outcome.OK;
		}
		catch (IOException ex) {
			this.customers.put(id, written.asUnknown());
			this.unknownOutcomes.incrementAndGet();
			return Outcome.unanswered(method + " " + path + ": " + ex);
		}
	}

	private Outcome readCustomer(HttpTarget target, long id, Customer customer) {
		try {
			HttpTarget.Response response = target.send("GET", "/customers/" + id, null);
			if (response.status() != 200) {
				return Outcome.stale("GET /customers/" + id + " answered " + response.status() + ", expected e-mail "
						+ customer.email());
			}
			String email = this.json.readTree(response.body()).get("email").asString();
			// The new column holds the address lower-cased (up: lower(email)).
			return customer.email().equalsIgnoreCase(email) ? Outcome.OK : Outcome
				.stale("GET /customers/" + id + " gave e-mail " + email + ", expected " + customer.email());
		}
		catch (IOException ex) {
			return Outcome.unanswered("GET /customers/" + id + ": " + ex);
		}
	}

	private Outcome readAddress(HttpTarget target, long id, Customer customer) {
		try {
			HttpTarget.Response response = target.send("GET", "/customers/" + id + "/address", null);
			if (response.status() != 200) {
				return Outcome.stale("GET /customers/" + id + "/address answered " + response.status() + ", expected "
						+ customer.address());
			}
			JsonNode node = this.json.readTree(response.body());
			Address address = new Address(node.get("street").asString(), node.get("city").asString());
			return address.equals(customer.address()) ? Outcome.OK : Outcome
				.stale("GET /customers/" + id + "/address gave " + address + ", expected " + customer.address());
		}
		catch (IOException ex) {
			return Outcome.unanswered("GET /customers/" + id + "/address: " + ex);
		}
	}

	@Override
	public List<String> lostWrites(HttpTarget target, int threads) {
		List<Map.Entry<Long, Customer>> touched = this.customers.entrySet()
			.stream()
			.filter((entry) -> entry.getValue().touched && !entry.getValue().unknown())
			.toList();
		return Workload.readBack(touched, threads, (entry) -> lostWrite(target, entry.getKey(), entry.getValue()));
	}

	private @Nullable String lostWrite(HttpTarget target, long id, Customer customer) throws IOException {
		HttpTarget.Response read = target.send("GET", "/customers/" + id, null);
		if (customer.deleted()) {
			return (read.status() == 404) ? null : "customer " + id + " was deleted but reads " + read.body();
		}
		if (read.status() != 200) {
			return "customer " + id + " answers " + read.status() + ", expected e-mail " + customer.email();
		}
		String email = this.json.readTree(read.body()).get("email").asString();
		if (!customer.email().equalsIgnoreCase(email)) {
			return "customer " + id + " reads e-mail " + email + ", acknowledged " + customer.email();
		}
		HttpTarget.Response address = target.send("GET", "/customers/" + id + "/address", null);
		if (address.status() != 200) {
			return "customer " + id + "'s address answers " + address.status() + ", acknowledged " + customer.address();
		}
		JsonNode node = this.json.readTree(address.body());
		Address stored = new Address(node.get("street").asString(), node.get("city").asString());
		return stored.equals(customer.address()) ? null
				: "customer " + id + " reads address " + stored + ", acknowledged " + customer.address();
	}

	@Override
	public Map<String, Long> disagreeingRows(JdbcTemplate jdbc, List<String> migrations) {
		Map<String, Long> disagreeing = new LinkedHashMap<>();
		if (migrations.contains(EMAIL)) {
			disagreeing.put(EMAIL, jdbc.queryForObject(
					"SELECT count(*) FROM customers WHERE email_address IS DISTINCT FROM lower(email)", Long.class));
		}
		if (migrations.contains(ADDRESS)) {
			disagreeing.put(ADDRESS, jdbc.queryForObject("SELECT count(*) FROM customers c "
					+ "FULL JOIN customer_addresses a ON a.customer_id = c.id "
					+ "WHERE c.id IS NULL OR a.customer_id IS NULL OR a.street IS DISTINCT FROM c.address_street "
					+ "OR a.city IS DISTINCT FROM c.address_city", Long.class));
		}
		return disagreeing;
	}

	@Override
	public Map<String, Long> figures() {
		Map<String, Long> figures = new LinkedHashMap<>();
		figures.put("acknowledged writes", this.acknowledgedWrites.get());
		figures.put("writes with an unknown outcome (left out of the checks)", this.unknownOutcomes.get());
		figures.put("customers written and read back at the end",
				this.customers.values().stream().filter((customer) -> customer.touched && !customer.unknown()).count());
		return figures;
	}

	record Address(String street, String city) {

		@Override
		public String toString() {
			return this.street + ", " + this.city;
		}

	}

	/**
	 * What the service must return for one customer.
	 */
	private static final class Customer {

		private final String email;

		private final Address address;

		private final boolean deleted;

		private final boolean unknown;

		final boolean touched;

		Customer(String email, Address address, boolean deleted) {
			this(email, address, deleted, false, false);
		}

		private Customer(String email, Address address, boolean deleted, boolean unknown, boolean touched) {
			this.email = Objects.requireNonNull(email);
			this.address = Objects.requireNonNull(address);
			this.deleted = deleted;
			this.unknown = unknown;
			this.touched = touched;
		}

		String email() {
			return this.email;
		}

		Address address() {
			return this.address;
		}

		boolean deleted() {
			return this.deleted;
		}

		boolean unknown() {
			return this.unknown;
		}

		Customer withEmail(String email) {
			return new Customer(email, this.address, this.deleted, this.unknown, this.touched);
		}

		Customer withAddress(Address address) {
			return new Customer(this.email, address, this.deleted, this.unknown, this.touched);
		}

		Customer asDeleted() {
			return new Customer(this.email, this.address, true, this.unknown, this.touched);
		}

		Customer asUnknown() {
			return new Customer(this.email, this.address, this.deleted, true, this.touched);
		}

		Customer touched() {
			return new Customer(this.email, this.address, this.deleted, this.unknown, true);
		}

	}

}
