package dev.zdm.actuate.endpoint;

import java.util.Arrays;
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
import org.springframework.util.ClassUtils;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;
import org.springframework.web.util.UrlPathHelper;

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
 * to drop that one's override (which {@code tuning/clear} does). And a request, read or
 * write, whose body or query gives a value the URL gives (the migration, the step, the
 * setting, the action) is refused: Spring Boot would lay it over the URL's, and run on
 * another migration or action than a rule on the URL allowed. That check reads the
 * servlet request being served, so it runs under Spring MVC only.
 */
public class ZdmEndpointRequestCheck implements OperationInvokerAdvisor {

	private static final int NAMES_SHOWN = 10;

	private static final int NAME_SHOWN_LENGTH = 60;

	private static final EndpointId ZDM = EndpointId.of("zdm");

	private static final boolean SERVLET = ClassUtils.isPresent("jakarta.servlet.http.HttpServletRequest",
			ZdmEndpointRequestCheck.class.getClassLoader())
			&& ClassUtils.isPresent("org.springframework.web.context.request.RequestContextHolder",
					ZdmEndpointRequestCheck.class.getClassLoader());

	@Override
	public OperationInvoker apply(EndpointId endpointId, OperationType operationType, OperationParameters parameters,
			OperationInvoker invoker) {
		if (!ZDM.equals(endpointId)) {
			return invoker;
		}
		List<String> selectors = parameters.stream()
			.filter((parameter) -> parameter.getAnnotation(Selector.class) != null)
			.map(OperationParameter::getName)
			.toList();
		OperationInvoker fromTheUrl = (context) -> {
			String overridden = overriddenSelector(selectors, context.getArguments());
			if (overridden != null) {
				return ZdmEndpointWebExtension.badRequest("The request's body or query gives '" + overridden
						+ "', which the URL gives: the migration, the step, the setting and the action come from "
						+ "the URL only, so that what a rule on the URL allows (Spring Security's) is what runs; "
						+ "nothing was changed. Leave '" + overridden + "' out of the body and the query");
			}
			return invoker.invoke(context);
		};
		if (operationType != OperationType.WRITE) {
			return fromTheUrl;
		}
		Set<String> known = parameters.stream()
			.filter((parameter) -> !SecurityContext.class.equals(parameter.getType()))
			.map(OperationParameter::getName)
			.collect(Collectors.toSet());
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
				return fromTheUrl.invoke(context);
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

	// Spring Boot lays a request's body and query over the values of its URL, so that
	// {"id": "other"} sent to /actuator/zdm/one/pause would pause migration other, past
	// any rule on the URL: the selectors, the last segments of the URL's path in order,
	// must be what the operation is given
	private static @Nullable String overriddenSelector(List<String> selectors,
			Map<String, @Nullable Object> arguments) {
		if (!SERVLET || selectors.isEmpty()) {
			return null;
		}
		List<String> segments = ServletPath.segments();
		if (segments == null || segments.size() < selectors.size()) {
			return null;
		}
		List<String> given = segments.subList(segments.size() - selectors.size(), segments.size());
		for (int i = 0; i < selectors.size(); i++) {
			if (!given.get(i).equals(String.valueOf(arguments.get(selectors.get(i))))) {
				return selectors.get(i);
			}
		}
		return null;
	}

	private static String abbreviate(String name) {
		return (name.length() > NAME_SHOWN_LENGTH) ? name.substring(0, NAME_SHOWN_LENGTH) + "..." : name;
	}

	/**
	 * The path of the servlet request being served, if any, read only where servlets are
	 * on the class path.
	 */
	private static final class ServletPath {

		static @Nullable List<String> segments() {
			if (!(RequestContextHolder.getRequestAttributes() instanceof ServletRequestAttributes attributes)) {
				return null;
			}
			String path = UrlPathHelper.defaultInstance.getPathWithinApplication(attributes.getRequest());
			return Arrays.stream(path.split("/")).filter((segment) -> !segment.isEmpty()).toList();
		}

	}

}
