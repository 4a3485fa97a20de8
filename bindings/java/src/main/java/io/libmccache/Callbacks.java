package io.libmccache;

/** Shared handling of listener failures. */
final class Callbacks {
    private Callbacks() {}

    /**
     * A listener threw: there is no Java caller to rethrow to on the callback
     * thread, so the thread's uncaught-exception handler gets it (by default
     * it prints the stack trace) and delivery goes on.
     */
    static void report(Throwable t) {
        Thread self = Thread.currentThread();
        try {
            self.getUncaughtExceptionHandler().uncaughtException(self, t);
        } catch (Throwable ignored) {
            // A failing handler must not stop event delivery either.
        }
    }
}
