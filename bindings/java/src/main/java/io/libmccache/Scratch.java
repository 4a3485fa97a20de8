package io.libmccache;

import java.nio.ByteBuffer;

/**
 * A per-thread direct buffer through which small keys and values cross JNI.
 * Java copies into and out of it with intrinsic bulk copies, and the glue
 * reads and writes it by address, so a get costs one JNI transition instead
 * of the four that GetArrayLength, GetByteArrayRegion, NewByteArray and
 * SetByteArrayRegion would add (see BindingBench for the figures). Larger
 * entries take the byte[] path.
 *
 * <p>A listener that runs on the calling thread while the buffer is in use
 * (a log line emitted during a call) finds it busy and takes the byte[] path,
 * so the buffer is never overwritten under a running call.
 */
final class Scratch {
    /** Bytes per thread; {@code -Dmccache.scratch.bytes} changes it (at least 256). */
    static final int SIZE = Math.max(256, Integer.getInteger("mccache.scratch.bytes", 16 * 1024));

    private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

    final ByteBuffer buf = ByteBuffer.allocateDirect(SIZE);
    final long address = Native.address(buf);
    /** Set by the glue when a value does not fit the buffer; taken by the caller. */
    byte[] big;
    private boolean busy;

    private Scratch() {}

    /** This thread's buffer, or null if it is in use further up the stack. */
    static Scratch acquire() {
        Scratch s = LOCAL.get();
        if (s.busy) return null;
        s.busy = true;
        return s;
    }

    void release() {
        busy = false;
    }

    byte[] takeBig() {
        byte[] v = big;
        big = null;
        return v;
    }
}
