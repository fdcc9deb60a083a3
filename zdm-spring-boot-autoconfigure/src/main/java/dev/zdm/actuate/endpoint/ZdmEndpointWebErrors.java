package dev.zdm.actuate.endpoint;

import java.io.IOException;
import java.util.Map;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.EndpointAccessResolver;
import org.springframework.boot.actuate.endpoint.EndpointId;
import org.springframework.boot.actuate.endpoint.web.PathMappedEndpoints;
import org.springframework.boot.json.JsonWriter;
import org.springframework.core.Ordered;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.servlet.HandlerExceptionResolver;
import org.springframework.web.servlet.ModelAndView;
import org.springframework.web.servlet.resource.NoResourceFoundException;

/**
 * Answers the requests to the zdm endpoint that Spring MVC refuses before zdm sees them
 * with what is wrong and what to do, in the endpoint's own error body ({@code {"status":
 * 400, "error": "..."}}), instead of a bare status: a body that is not JSON
 * ({@code 400}), a {@code POST} without {@code Content-Type: application/json}
 * ({@code 415}), and a {@code POST} while the endpoint's write operations are off or to a
 * path that is none of them ({@code 405} or {@code 404}). Other paths and errors are left
 * to Spring MVC. Nothing is changed or recorded by such a request.
 */
public class ZdmEndpointWebErrors implements HandlerExceptionResolver, Ordered {

	private static final EndpointId ZDM = EndpointId.of("zdm");

	private static final JsonWriter<Map<String, Object>> JSON = JsonWriter.standard();

	private final PathMappedEndpoints endpoints;

	private final @Nullable EndpointAccessResolver access;

	/**
	 * Create a resolver for the endpoint at a path.
	 * @param endpoints the endpoints exposed over the web, to find the zdm endpoint's
	 * path (such as {@code /actuator/zdm}) in
	 * @param access tells whether the endpoint's write operations are on, or {@code null}
	 * if that cannot be told (then they are taken as off)
	 */
	public ZdmEndpointWebErrors(PathMappedEndpoints endpoints, @Nullable EndpointAccessResolver access) {
		this.endpoints = endpoints;
		this.access = access;
	}

	@Override
	public int getOrder() {
		// before Spring MVC's own resolvers, which answer these with a bare status
		return Ordered.HIGHEST_PRECEDENCE + 1;
	}

	@Override
	public @Nullable ModelAndView resolveException(HttpServletRequest request, HttpServletResponse response,
			@Nullable Object handler, Exception ex) {
		String path = path(request);
		if (path == null || !"POST".equals(request.getMethod())) {
			return null;
		}
		String advice = " Nothing was changed (see docs/observability.md).";
		if (ex instanceof HttpMessageNotReadableException) {
			return answer(response, HttpStatus.BAD_REQUEST,
					"The request's body is not a JSON object of names and plain values (text, numbers, true or false; "
							+ "no objects or arrays) such as {\"reason\": \"nightly import\"}: "
							+ firstLine(ex.getMessage()) + "." + advice);
		}
		if (ex instanceof HttpMediaTypeNotSupportedException) {
			return answer(response, HttpStatus.UNSUPPORTED_MEDIA_TYPE,
					"The zdm endpoint's write operations take Content-Type: application/json, with a body or without "
							+ "one; this request said "
							+ ((request.getContentType() != null) ? "'" + request.getContentType() + "'" : "none")
							+ ". With curl: -H 'Content-Type: application/json'." + advice);
		}
		if (ex instanceof HttpRequestMethodNotSupportedException || ex instanceof NoResourceFoundException) {
			HttpStatus status = (ex instanceof NoResourceFoundException) ? HttpStatus.NOT_FOUND
					: HttpStatus.METHOD_NOT_ALLOWED;
			if (!writesOn()) {
				return answer(response, status, "POST " + path + ": the zdm endpoint's write operations are off. "
						+ "Turn them on with management.endpoint.zdm.access=unrestricted (behind Spring Security "
						+ "when it is present)." + advice);
			}
			return answer(response, status,
					"POST " + path + " is none of the zdm endpoint's write operations: "
							+ "{id}/pause, {id}/resume, {id}/verify, {id}/expand/pause, {id}/expand/resume, "
							+ "{id}/contract/recheck, {id}/contract/apply-old, {id}/contract/override, "
							+ "{id}/backfill/tuning/set, {id}/backfill/tuning/clear." + advice);
		}
		return null;
	}

	private boolean writesOn() {
		return this.access != null && this.access.accessFor(ZDM, Access.READ_ONLY) == Access.UNRESTRICTED;
	}

	private @Nullable String path(HttpServletRequest request) {
		String endpointPath = this.endpoints.getPath(ZDM);
		String path = (request.getPathInfo() != null) ? request.getPathInfo() : request.getServletPath();
		if (endpointPath == null || path == null
				|| !(path.equals(endpointPath) || path.startsWith(endpointPath + "/"))) {
			return null;
		}
		return path;
	}

	private static String firstLine(@Nullable String message) {
		if (message == null || message.isBlank()) {
			return "it could not be read";
		}
		String line = message.lines().findFirst().orElse(message).strip();
		line = (line.length() > 200) ? line.substring(0, 200) + "..." : line;
		return line.endsWith(".") ? line.substring(0, line.length() - 1) : line;
	}

	private static ModelAndView answer(HttpServletResponse response, HttpStatus status, String error) {
		Map<String, Object> body = ZdmEndpointWebExtension.errorBody(status.value(), error);
		try {
			response.setStatus(status.value());
			response.setContentType(MediaType.APPLICATION_JSON_VALUE);
			response.setCharacterEncoding("UTF-8");
			response.getWriter().write(JSON.writeToString(body));
			return new ModelAndView();
		}
		catch (IOException | IllegalStateException ex) {
			// the response was committed: leave it to Spring MVC
			return null;
		}
	}

}
