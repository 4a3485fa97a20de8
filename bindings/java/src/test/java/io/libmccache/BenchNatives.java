package io.libmccache;

/**
 * The benchmark's native baselines, in {@code libmccache_jni_bench.so}
 * (built from {@code src/test/cpp/bench_natives.cc}), a library that only
 * {@link BindingBench} loads: the production {@code libmccache_jni.so} must
 * not carry benchmark code ({@code Java::exports} checks that it exports
 * none of these).
 *
 * <p>The library is the system property {@value #PATH_PROPERTY} (an absolute
 * path) when set, else {@code mccache_jni_bench} on {@code java.library.path}.
 * It links {@code libmccache.so} itself; cache handles come from the binding
 * ({@link Cache#handleForBench()}), which must stay open while they are used.
 *
 * <p>This class depends on nothing else of the binding, so that CMake can
 * generate its JNI header from this one file.
 */
final class BenchNatives {
    static final String PATH_PROPERTY = "mccache.bench.native.path";

    private BenchNatives() {}

    static {
        String path = System.getProperty(PATH_PROPERTY, "");
        if (path.isEmpty()) {
            System.loadLibrary("mccache_jni_bench");
        } else {
            System.load(path);
        }
    }

    /** An empty native call: the JNI transition alone. */
    static native void noop();

    /** An empty native call with two object arguments (one null), as getDirect takes. */
    static native void noopObjects(Object a, Object b);

    /**
     * Gets each key in turn ({@code mccache_get}, {@code mccache_value_data},
     * {@code mccache_value_free}), iterations times, in C.
     *
     * @return the elapsed nanoseconds, or -1 if a get failed
     */
    static native long cGet(long cache, byte[][] keys, int iterations);

    /**
     * Puts each key in turn ({@code mccache_put}, no TTL), iterations times, in C.
     *
     * @return the elapsed nanoseconds, or -1 if a put failed
     */
    static native long cPut(long cache, byte[][] keys, byte[] value, int iterations);

    /** One call: copies the key out with GetByteArrayRegion. */
    static native int keyRegionOnce(byte[] key);

    /** One call: copies the key out under GetPrimitiveArrayCritical. */
    static native int keyCriticalOnce(byte[] key);

    /** One call: returns a new array of len bytes filled with SetByteArrayRegion. */
    static native byte[] valueRegionOnce(int len);

    /** One call: returns a new array of len bytes filled under GetPrimitiveArrayCritical. */
    static native byte[] valueCriticalOnce(int len);
}
