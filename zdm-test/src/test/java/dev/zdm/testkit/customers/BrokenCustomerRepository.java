package dev.zdm.testkit.customers;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * A broken new-schema repository. With {@code customers.new-repository=wrong-value} its
 * inserts write the customer's name as the street; with {@code forgets-delete} its
 * deletes leave the address row behind. Reads through it look right; source and target
 * disagree.
 */
@Repository
@ZdmRepository(migration = "customers-address", schema = Schema.NEW)
@ConditionalOnExpression("'${customers.new-repository:correct}' matches 'wrong-value|forgets-delete'")
class BrokenCustomerRepository extends NewCustomerRepository {

	private final boolean wrongValue;

	BrokenCustomerRepository(JdbcClient jdbc, @Value("${customers.new-repository}") String broken) {
		super(jdbc);
		this.wrongValue = "wrong-value".equals(broken);
	}

	@Override
	public long create(String name, String street, String city) {
		return super.create(name, this.wrongValue ? name : street, city);
	}

	@Override
	boolean deleteAddress(long id) {
		return this.wrongValue && super.deleteAddress(id);
	}

}
