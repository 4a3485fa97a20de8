package io.libmccache;

import java.nio.charset.StandardCharsets;

/** What the JNI glue holds as a GlobalRef for a log listener (see {@link ChangeBinding}). */
final class LogBinding {
    private final LogListener listener;

    LogBinding(LogListener listener) {
        this.listener = listener;
    }

    /** Called by the glue; never lets an exception reach native code. */
    void dispatch(int level, byte[] message) {
        try {
            listener.onLog(LogLevel.of(level), new String(message, StandardCharsets.UTF_8));
        } catch (Throwable t) {
            Callbacks.report(t);
        }
    }
}
