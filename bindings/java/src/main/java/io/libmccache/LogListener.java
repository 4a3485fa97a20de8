package io.libmccache;

/**
 * Receives a node's log lines, on whichever thread logs (the loop thread or
 * a caller's). It must be thread-safe and must not block.
 * See {@link Node#setLogListener(LogListener)}.
 */
@FunctionalInterface
public interface LogListener {
    void onLog(LogLevel level, String message);
}
