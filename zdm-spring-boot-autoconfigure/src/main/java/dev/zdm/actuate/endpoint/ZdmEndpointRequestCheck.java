package dev.zdm.actuate.endpoint;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.endpoint.EndpointId;
import org.springframework.boot.actuate.endpoint.OperationType;
import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.invoke.OperationInvoker;
import org.springframework.boot.actuate.endpoint.invoke.OperationInvokerAdvisor;
import org.springframework.boot.actuate.endpoint.invoke.OperationParameter;
import org.springframework.boot.actuate.endpoint.invoke.OperationParameters;

/**
 * Refuses a write request to the zdm endpoint that names something its operation does not
 * take, such as a misspelt setting in {@code {"maxBatchSise": 3000}}: Spring Boot binds a
 * request's body to an operation's parameters by name and leaves out the others, so the
 * request would be answered {@code 200} and recorded while it changed nothing an operator
 * asked for. It is answered {@code 400 Bad Request}, saying which names are unknown and
 * which the operation takes, and nothing runs or is recorded. A setting of a backfill's
 * {@code tuning/set} sent as {@code null} ({@code {"maxRowsPerSecond": null}}) is refused
 * the same way, naming it: the body binds it as a setting not sent, which would leave the
 * request with nothing to change, or change the others while the operator may have meant
 * to drop that one's override (which {@code tuning/clear} does).
 */
public class ZdmEndpointRequestCheck implements OperationInvokerAdvisor {

	private static final int NAMES_SHOWN = 10;

	private static final int NAME_SHOWN_LENGTH = 60;

	private static final EndpointId ZDM = EndpointId.of("zdm");

	@Override
	public OperationInvoker apply(EndpointId endpointId, OperationType operationType, OperationParameters parameters,
			OperationInvoker invoker) {
		if (!ZDM.equals(endpointId) || operationType != OperationType.WRITE) {
			return invoker;
		}
		Set<String> known = parameters.stream().map(OperationParameter::getName).collect(Collectors.toSet());
		List<String> accepted = parameters.stream()
			.filter((parameter) -> parameter.getAnnotation(Selector.class) == null
					&& !SecurityContext.class.equals(parameter.getType()))
			.map(OperationParameter::getName)
			.toList();
		return (context) -> {
			List<String> unknown = context.getArguments()
				.keySet()
				.stream()
				.filter((name) -> !known.contains(name))
				.sorted()
				.toList();
			if (unknown.isEmpty()) {
				String sentNull = sentNull(context.getArguments());
				if (sentNull != null) {
					return ZdmEndpointWebExtension.badRequest(
							BackfillTuning.empty(String.valueOf(context.getArguments().get("id")), sentNull, "null")
								.getReason());
				}
				return invoker.invoke(context);
			}
			// a few are enough to correct a request; a body of thousands is named by
			// count
			String named = unknown.stream()
				.limit(NAMES_SHOWN)
				.map((name) -> "'" + abbreviate(name) + "'")
				.collect(Collectors.joining(", "))
					+ ((unknown.size() > NAMES_SHOWN) ? " and " + (unknown.size() - NAMES_SHOWN) + " more" : "");
			String message = "Unknown " + ((unknown.size() == 1) ? "name " : "names ") + named
					+ " in the request; nothing was changed. This operation takes "
					+ (accepted.isEmpty() ? "no body" : String.join(", ", accepted)) + " (see docs/observability.md)";
			return ZdmEndpointWebExtension.badRequest(message);
		};
	}

	// the first setting of a tuning change sent as null, or null if none is
	private static @Nullable String sentNull(Map<String, @Nullable Object> arguments) {
		if (!"tuning".equals(arguments.get("setting")) || !"set".equals(arguments.get("action"))) {
			return null;
		}
		return arguments.entrySet()
			.stream()
			.filter((argument) -> argument.getValue() == null && BackfillTuning.isSetting(argument.getKey()))
			.map(Map.Entry::getKey)
			.sorted()
			.findFirst()
			.orElse(null);
	}

	private static String abbreviate(String name) {
		return (name.length() > NAME_SHOWN_LENGTH) ? name.substring(0, NAME_SHOWN_LENGTH) + "..." : name;
	}

}
