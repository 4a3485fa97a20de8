package io.libmccache;

/**
 * Receives a node's log lines on the node's callback thread
 * ({@code mccache-callbacks}), shortly after they were logged: the call that
 * logged a line has usually returned by then. It should return quickly;
 * lines past 1024 waiting are dropped (and counted).
 * See {@link Node#setLogListener(LogListener)}.
 */
@FunctionalInterface
public interface LogListener {
    void onLog(LogLevel level, String message);
}
