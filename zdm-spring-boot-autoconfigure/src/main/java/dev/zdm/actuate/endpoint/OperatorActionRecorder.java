package dev.zdm.actuate.endpoint;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.audit.AuditEvent;
import org.springframework.boot.actuate.audit.AuditEventRepository;
import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.dao.DataAccessException;

import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;

/**
 * Records each of the {@link ZdmEndpoint endpoint}'s write operations: who (the
 * authenticated principal, else {@code anonymous}), which instance, when and why, in
 * {@code zdm_operator_action}, as a {@link ZdmOperatorActionEvent} and, with an audit
 * event repository, as a Boot {@link AuditEvent}.
 */
final class OperatorActionRecorder {

	private static final Log logger = LogFactory.getLog(OperatorActionRecorder.class);

	/** The longest reason a write operation takes, in characters. */
	static final int MAX_REASON_LENGTH = 1000;

	private final Object source;

	private final PhaseController controller;

	private final @Nullable OperatorActionRepository operatorActions;

	private final @Nullable ApplicationEventPublisher eventPublisher;

	private final @Nullable AuditEventRepository auditEvents;

	OperatorActionRecorder(Object source, PhaseController controller,
			@Nullable OperatorActionRepository operatorActions, @Nullable ApplicationEventPublisher eventPublisher,
			@Nullable AuditEventRepository auditEvents) {
		this.source = source;
		this.controller = controller;
		this.operatorActions = operatorActions;
		this.eventPublisher = eventPublisher;
		this.auditEvents = auditEvents;
	}

	/**
	 * Describe an action: who asks, on which instance, now, and why.
	 */
	OperatorAction action(String action, @Nullable String reason, SecurityContext securityContext) {
		String principal = (securityContext.getPrincipal() != null) ? securityContext.getPrincipal().getName()
				: OperatorAction.ANONYMOUS;
		String trimmed = (reason != null && !reason.isBlank()) ? reason.strip() : null;
		// to the microsecond, as stored, so that the event and the stored record agree
		return new OperatorAction(action, principal, this.controller.instance().instanceId(), trimmed,
				Instant.now().truncatedTo(ChronoUnit.MICROS));
	}

	/**
	 * Describe an action and record it.
	 */
	void record(String id, String action, @Nullable String reason, SecurityContext securityContext) {
		record(id, action(action, reason, securityContext));
	}

	/**
	 * Record an action in {@code zdm_operator_action}, as an event and as an audit event,
	 * each where there is somewhere to put it.
	 */
	void record(String id, OperatorAction action) {
		// the log keeps every action too, where an application keeps no audit events
		logger.info("zdm: operator action " + action.action() + " on migration '" + id + "' by " + action.principal()
				+ " on instance " + action.instanceId()
				+ ((action.reason() != null) ? " (reason: " + action.reason() + ")" : ""));
		if (this.operatorActions != null) {
			try {
				this.operatorActions.record(id, action);
			}
			catch (DataAccessException ex) {
				// the action is done (the database took it a moment ago): failing
				// the request now would tell the operator it was not; the log keeps
				// what the table missed
				logger.warn("Operator action " + action.action() + " on migration '" + id + "' by " + action.principal()
						+ " on instance " + action.instanceId() + " at " + action.actedAt()
						+ ((action.reason() != null) ? " (reason: " + action.reason() + ")" : "")
						+ " was done but could not be recorded in zdm_operator_action: " + ex.getMessage()
						+ "; it is in this log, and in the audit events if the application keeps them");
			}
		}
		if (this.eventPublisher != null) {
			this.eventPublisher.publishEvent(new ZdmOperatorActionEvent(this.source, id, action));
		}
		if (this.auditEvents != null) {
			Map<String, Object> data = new LinkedHashMap<>();
			data.put("migration", id);
			data.put("action", action.action());
			data.put("instance", action.instanceId());
			if (action.reason() != null) {
				data.put("reason", action.reason());
			}
			this.auditEvents.add(new AuditEvent(action.actedAt(), action.principal(),
					ZdmOperatorActionEvent.AUDIT_EVENT_TYPE, data));
		}
	}

	/**
	 * Refuse a reason that cannot be recorded as one, before anything is changed: one too
	 * long (it is recorded with the action and shown in every {@code GET} of the
	 * migration), or one with a NUL character, which PostgreSQL's text cannot hold.
	 */
	static void requireRecordableReason(@Nullable String reason) {
		if (reason != null && reason.length() > MAX_REASON_LENGTH) {
			String message = "The reason is " + reason.length() + " characters long: keep it to at most "
					+ MAX_REASON_LENGTH + " (a sentence and a ticket reference); nothing was changed";
			throw new InvalidEndpointRequestException(message, message);
		}
		if (reason != null && reason.indexOf('\u0000') >= 0) {
			String message = "The reason holds a NUL character (\\u0000), which cannot be recorded: send it without "
					+ "one; nothing was changed";
			throw new InvalidEndpointRequestException(message, message);
		}
	}

}
