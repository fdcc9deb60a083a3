package dev.zdm.actuate.endpoint;

import org.springframework.context.ApplicationEvent;

import dev.zdm.internal.fleet.OperatorAction;

/**
 * Published when an operator acts on a migration through the {@link ZdmEndpoint}: pauses,
 * resumes or verifies its backfill, pauses or resumes its expand, or re-checks, applies
 * the old side or overrides the final check before its contract. The same action is
 * stored in {@code zdm_operator_action} and, with an
 * {@link org.springframework.boot.actuate.audit.AuditEventRepository}, added as an audit
 * event of type {@value #AUDIT_EVENT_TYPE}.
 */
public class ZdmOperatorActionEvent extends ApplicationEvent {

	/** The type of the audit events of operator actions. */
	public static final String AUDIT_EVENT_TYPE = "ZDM_OPERATOR_ACTION";

	private final String migrationId;

	private final OperatorAction action;

	/**
	 * Create an event.
	 * @param source the endpoint
	 * @param migrationId the migration acted on
	 * @param action the action: who, where, when, why
	 */
	public ZdmOperatorActionEvent(Object source, String migrationId, OperatorAction action) {
		super(source);
		this.migrationId = migrationId;
		this.action = action;
	}

	/**
	 * Return the migration acted on.
	 * @return its id
	 */
	public String getMigrationId() {
		return this.migrationId;
	}

	/**
	 * Return the action.
	 * @return who did what, where, when and why
	 */
	public OperatorAction getAction() {
		return this.action;
	}

}
