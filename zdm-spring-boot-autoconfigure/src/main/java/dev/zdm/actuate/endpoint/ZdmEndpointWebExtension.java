package dev.zdm.actuate.endpoint;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.boot.actuate.endpoint.web.annotation.EndpointWebExtension;

/**
 * {@link EndpointWebExtension @EndpointWebExtension} for the {@link ZdmEndpoint}: a
 * request for a migration that is not declared is answered with {@code 404 Not Found} and
 * a body that names the declared ones; a malformed write request (unknown step or action,
 * an expand that is done, or a backfill setting that is malformed or out of range) with
 * {@code 400 Bad Request} and a body that says what is wrong and what to send instead.
 */
@EndpointWebExtension(endpoint = ZdmEndpoint.class)
public class ZdmEndpointWebExtension {

	private final ZdmEndpoint delegate;

	/**
	 * Create an extension.
	 * @param delegate the endpoint
	 */
	public ZdmEndpointWebExtension(ZdmEndpoint delegate) {
		this.delegate = delegate;
	}

	/**
	 * A migration's status, or {@code 404 Not Found} with a body that names the declared
	 * migrations.
	 * @param id the migration
	 * @return the response
	 */
	@ReadOperation
	public WebEndpointResponse<Object> migration(@Selector String id) {
		MigrationDescriptor migration = this.delegate.migration(id);
		return (migration != null) ? new WebEndpointResponse<>(migration, WebEndpointResponse.STATUS_OK)
				: notDeclared(id);
	}

	/**
	 * A migration's plan, or {@code 404 Not Found} with a body that names the declared
	 * migrations (the plan as text, {@code Accept: text/plain}, is the endpoint's own).
	 * @param id the migration
	 * @param view {@code plan}
	 * @return the response
	 */
	@ReadOperation
	public WebEndpointResponse<Object> plan(@Selector String id, @Selector String view) {
		try {
			ZdmEndpoint.PlanDescriptor plan = this.delegate.plan(id, view);
			return (plan != null) ? new WebEndpointResponse<>(plan, WebEndpointResponse.STATUS_OK) : notDeclared(id);
		}
		catch (InvalidEndpointRequestException ex) {
			return badRequest(ex);
		}
	}

	private WebEndpointResponse<Object> notDeclared(String id) {
		List<String> declared = this.delegate.declaredIds();
		return new WebEndpointResponse<>(errorBody(WebEndpointResponse.STATUS_NOT_FOUND,
				"No migration '" + id + "' is declared on this instance"
						+ (declared.isEmpty() ? "" : "; the declared ones are " + String.join(", ", declared))
						+ ". GET /actuator/zdm lists them."),
				WebEndpointResponse.STATUS_NOT_FOUND);
	}

	@WriteOperation
	public WebEndpointResponse<Object> backfill(@Selector String id, @Selector String action, @Nullable String reason,
			SecurityContext securityContext) {
		if (!this.delegate.declaredIds().contains(id)) {
			return notDeclared(id);
		}
		try {
			Object progress = this.delegate.backfill(id, action, reason, securityContext);
			return (progress != null) ? new WebEndpointResponse<>(progress, WebEndpointResponse.STATUS_OK)
					: new WebEndpointResponse<>(WebEndpointResponse.STATUS_NO_CONTENT);
		}
		catch (InvalidEndpointRequestException ex) {
			return badRequest(ex);
		}
		catch (DatabaseUnreachableException ex) {
			return unavailable(ex);
		}
	}

	@WriteOperation
	public WebEndpointResponse<Object> ddl(@Selector String id, @Selector String step, @Selector String action,
			@Nullable String reason, SecurityContext securityContext) {
		if (!this.delegate.declaredIds().contains(id)) {
			return notDeclared(id);
		}
		try {
			return new WebEndpointResponse<>(this.delegate.ddl(id, step, action, reason, securityContext),
					WebEndpointResponse.STATUS_OK);
		}
		catch (InvalidEndpointRequestException ex) {
			return badRequest(ex);
		}
		catch (DatabaseUnreachableException ex) {
			return unavailable(ex);
		}
	}

	@WriteOperation
	public WebEndpointResponse<Object> tuning(@Selector String id, @Selector String step, @Selector String setting,
			@Selector String action, @Nullable String initialBatchSize, @Nullable String minBatchSize,
			@Nullable String maxBatchSize, @Nullable String targetBatchDuration, @Nullable String pause,
			@Nullable String maxRowsPerSecond, @Nullable String maxLatencyIncrease, @Nullable String maxLockWaiters,
			@Nullable String maxTransactionAge, @Nullable String maxReplicationLag,
			@Nullable String maxWalArchiveBacklog, @Nullable String maxWalRate, @Nullable String reason,
			SecurityContext securityContext) {
		if (!this.delegate.declaredIds().contains(id)) {
			return notDeclared(id);
		}
		try {
			return new WebEndpointResponse<>(this.delegate.tuning(id, step, setting, action, initialBatchSize,
					minBatchSize, maxBatchSize, targetBatchDuration, pause, maxRowsPerSecond, maxLatencyIncrease,
					maxLockWaiters, maxTransactionAge, maxReplicationLag, maxWalArchiveBacklog, maxWalRate, reason,
					securityContext), WebEndpointResponse.STATUS_OK);
		}
		catch (InvalidEndpointRequestException ex) {
			return badRequest(ex);
		}
		catch (DatabaseUnreachableException ex) {
			return unavailable(ex);
		}
	}

	private static WebEndpointResponse<Object> unavailable(DatabaseUnreachableException ex) {
		return new WebEndpointResponse<>(
				errorBody(WebEndpointResponse.STATUS_SERVICE_UNAVAILABLE, String.valueOf(ex.getMessage())),
				WebEndpointResponse.STATUS_SERVICE_UNAVAILABLE);
	}

	private static WebEndpointResponse<Object> badRequest(InvalidEndpointRequestException ex) {
		return badRequest(ex.getReason());
	}

	static WebEndpointResponse<Object> badRequest(String reason) {
		return new WebEndpointResponse<>(errorBody(WebEndpointResponse.STATUS_BAD_REQUEST, reason),
				WebEndpointResponse.STATUS_BAD_REQUEST);
	}

	/**
	 * The body of every error the endpoint answers, {@code {"status": 400, "error":
	 * "..."}}.
	 * @param status the HTTP status
	 * @param error what is wrong and what to do
	 * @return the body
	 */
	static Map<String, Object> errorBody(int status, String error) {
		Map<String, Object> body = new LinkedHashMap<>();
		body.put("status", status);
		body.put("error", error);
		return body;
	}

}
