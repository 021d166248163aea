package dev.genset.gateway;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A refusal in OpenAI's terms: the HTTP status, the error's {@code type} and {@code code}, a
 * message for the client, and headers to send with it (Retry-After, x-ratelimit-*).
 */
public class GatewayException extends RuntimeException {
    private final int status;
    private final String type;
    private final String code;
    private final Map<String, String> headers;

    public GatewayException(int status, String type, String code, String message, Map<String, String> headers) {
        super(message);
        this.status = status;
        this.type = type;
        this.code = code;
        this.headers = headers == null ? Map.of() : Map.copyOf(new LinkedHashMap<>(headers));
    }

    public GatewayException(int status, String type, String code, String message) {
        this(status, type, code, message, Map.of());
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String code() {
        return code;
    }

    public Map<String, String> headers() {
        return headers;
    }

    /** The Retry-After header in seconds, or null. */
    public String retryAfter() {
        return headers.get("Retry-After");
    }

    static GatewayException unauthorized(String code, String message) {
        return new GatewayException(401, "invalid_request_error", code, message);
    }

    static GatewayException forbidden(String code, String message) {
        return new GatewayException(403, "permission_error", code, message);
    }
}
