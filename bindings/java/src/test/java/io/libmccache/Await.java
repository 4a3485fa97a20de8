package io.libmccache;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waiting on conditions with deadlines: tests never sleep blindly. */
final class Await {
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private Await() {}

    static void until(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) fail("timed out after " + TIMEOUT + " waiting for " + what);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
        }
    }

    static <T> T next(BlockingQueue<T> queue, String what) throws InterruptedException {
        T item = queue.poll(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        if (item == null) fail("timed out after " + TIMEOUT + " waiting for " + what);
        return item;
    }
}
