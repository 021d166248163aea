package dev.genset.server;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * An error the API reports to the client in OpenAI's shape,
 * {@code {"error": {"message", "type", "param", "code"}}}, with an HTTP status.
 */
public class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private ObjectNode extra; // more fields of the error object, or null
    private String retryAfter;
    private java.util.Map<String, String> headers = java.util.Map.of();

    public ApiException(int status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400 invalid_request_error about one request field. */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", message, param, null);
    }

    public static ApiException invalid(String param, String code, String message) {
        return new ApiException(400, "invalid_request_error", message, param, code);
    }

    public static ApiException notFound(String param, String code, String message) {
        return new ApiException(404, "not_found_error", message, param, code);
    }

    public static ApiException unavailable(String message) {
        return new ApiException(503, "unavailable_error", message, null, "unavailable").retryAfter("5");
    }

    /** The client closed the connection before its reply was ready (nginx's 499); only the metrics and the ledger see it. */
    public static ApiException clientClosed() {
        return new ApiException(499, "invalid_request_error", "The client closed the connection before the reply was sent.", null, "client_closed_request");
    }

    public static ApiException server(String message) {
        return new ApiException(500, "server_error", message, null, null);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    public String retryAfter() {
        return retryAfter;
    }

    public ApiException retryAfter(String seconds) {
        this.retryAfter = seconds;
        return this;
    }

    /** More headers to send with the error (x-ratelimit-*). */
    public java.util.Map<String, String> headers() {
        return headers;
    }

    public ApiException headers(java.util.Map<String, String> h) {
        this.headers = h == null ? java.util.Map.of() : java.util.Map.copyOf(h);
        return this;
    }

    public ApiException extra(String field, Object value) {
        if (extra == null) extra = Json.MAPPER.createObjectNode();
        extra.set(field, Json.MAPPER.valueToTree(value));
        return this;
    }

    /** {@code {"error": {...}}} */
    public ObjectNode toJson() {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", getMessage());
        e.put("type", type);
        e.put("param", param);
        e.put("code", code);
        if (extra != null) e.setAll(extra);
        return root;
    }
}
