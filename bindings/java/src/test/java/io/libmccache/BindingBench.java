package io.libmccache;

import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Get/put cost of the binding against the C API (timed in C by
 * {@link BenchNatives}, a native library of the benchmark's own) and against
 * Caffeine, in one run. Not a unit test: run it with the CMake target
 * {@code java-bench}, or {@code mvn -Pbench test-compile exec:exec
 * -Dmccache.native.path=... -Dmccache.bench.native.path=...}.
 *
 * <p>Each sample times one chunk of {@value #CHUNK} operations on consecutive
 * keys (the C loop and the Java loop do the same work) and gives that chunk's
 * mean ns/op. Chunks are short so that most run without preemption on a busy
 * machine, and rounds interleave the operations so that noise hits all of
 * them alike. Percentiles are over the per-chunk means.
 */
public final class BindingBench {
    static final int KEYS = Integer.getInteger("bench.keys", 10_000);
    static final int VALUE_SIZE = Integer.getInteger("bench.value", 100);
    static final int CHUNK = 256;
    static final int WARMUP_CHUNKS = Integer.getInteger("bench.warmup", 4000);
    static final int ROUNDS = Integer.getInteger("bench.rounds", 5);
    static final int CHUNKS_PER_ROUND = Integer.getInteger("bench.chunks", 400);

    static volatile long sink;

    interface Pass {
        /** Runs CHUNK operations on the keys of chunk c; returns elapsed ns. */
        long run(int c);
    }

    public static void main(String[] args) {
        byte[][] keys = new byte[KEYS][];
        String[] skeys = new String[KEYS];
        for (int i = 0; i < KEYS; i++) {
            skeys[i] = String.format(Locale.ROOT, "key-%012d", i);
            keys[i] = skeys[i].getBytes(StandardCharsets.UTF_8);
        }
        byte[] value = Bytes.filled(VALUE_SIZE, 7);
        byte[] dst = new byte[VALUE_SIZE * 2];
        byte[] key64 = Bytes.filled(64, 1);

        try (Config config = Local.config().set("bench.cache_max", KEYS * 4L).set("bench.cache_size", "1GiB");
                Node node = Node.open(config)) {
            Cache cache = node.cache("bench");
            com.github.benmanes.caffeine.cache.Cache<String, byte[]> caffeine =
                    Caffeine.newBuilder().maximumSize(KEYS * 4L).build();
            for (int i = 0; i < KEYS; i++) {
                cache.put(keys[i], value, Cache.TTL_NEVER);
                caffeine.put(skeys[i], value);
            }

            int chunks = KEYS / CHUNK;
            byte[][][] keyChunks = new byte[chunks][][];
            String[][] skeyChunks = new String[chunks][];
            for (int c = 0; c < chunks; c++) {
                keyChunks[c] = Arrays.copyOfRange(keys, c * CHUNK, (c + 1) * CHUNK);
                skeyChunks[c] = Arrays.copyOfRange(skeys, c * CHUNK, (c + 1) * CHUNK);
            }
            long h = cache.handleForBench();

            Map<String, Pass> ops = new LinkedHashMap<>();
            ops.put("jni_noop", c -> {
                long t = System.nanoTime();
                for (int i = 0; i < CHUNK; i++) BenchNatives.noop();
                return System.nanoTime() - t;
            });
            Object obj = new Object();
            ops.put("jni_noop_2obj", c -> {
                long t = System.nanoTime();
                for (int i = 0; i < CHUNK; i++) BenchNatives.noopObjects(obj, null);
                return System.nanoTime() - t;
            });
            byte[] out100 = new byte[VALUE_SIZE];
            ops.put("java_scratch_only", c -> {
                // The Java side of a get without the native call: thread-local
                // lookup, key in, value out into a new array.
                long n = 0;
                long t = System.nanoTime();
                for (byte[] k : keyChunks[c]) {
                    Scratch s = Scratch.acquire();
                    s.buf.put(0, k);
                    byte[] out = new byte[VALUE_SIZE];
                    s.buf.get(0, out);
                    n += out[0] + out.length;
                    s.release();
                }
                long e = System.nanoTime() - t;
                sink += n + out100.length;
                return e;
            });
            ops.put("c_get", c -> cLoop(BenchNatives.cGet(h, keyChunks[c], 1), "mccache_get"));
            ops.put("mccache_get", c -> {
                long n = 0;
                long t = System.nanoTime();
                for (byte[] k : keyChunks[c]) n += cache.get(k).length;
                long e = System.nanoTime() - t;
                sink += n;
                return e;
            });
            ops.put("mccache_get_into", c -> {
                long n = 0;
                long t = System.nanoTime();
                for (byte[] k : keyChunks[c]) n += cache.get(k, dst);
                long e = System.nanoTime() - t;
                sink += n;
                return e;
            });
            ops.put("caffeine_get", c -> {
                long n = 0;
                long t = System.nanoTime();
                for (String k : skeyChunks[c]) n += caffeine.getIfPresent(k).length;
                long e = System.nanoTime() - t;
                sink += n;
                return e;
            });
            ops.put("c_put", c -> cLoop(BenchNatives.cPut(h, keyChunks[c], value, 1), "mccache_put"));
            ops.put("mccache_put", c -> {
                long t = System.nanoTime();
                for (byte[] k : keyChunks[c]) cache.put(k, value, Cache.TTL_NEVER);
                return System.nanoTime() - t;
            });
            ops.put("caffeine_put", c -> {
                long t = System.nanoTime();
                for (String k : skeyChunks[c]) caffeine.put(k, value);
                return System.nanoTime() - t;
            });
            ops.put("key16_region", c -> copyChunk(keys[c], false));
            ops.put("key16_critical", c -> copyChunk(keys[c], true));
            ops.put("key64_region", c -> copyChunk(key64, false));
            ops.put("key64_critical", c -> copyChunk(key64, true));
            ops.put("value100_region", c -> valueChunk(VALUE_SIZE, false));
            ops.put("value100_critical", c -> valueChunk(VALUE_SIZE, true));

            Map<String, List<Double>> samples = new LinkedHashMap<>();
            for (Map.Entry<String, Pass> op : ops.entrySet()) {
                for (int i = 0; i < WARMUP_CHUNKS; i++) op.getValue().run(i % chunks);
                samples.put(op.getKey(), new ArrayList<>());
            }
            for (int r = 0; r < ROUNDS; r++) {
                for (Map.Entry<String, Pass> op : ops.entrySet()) {
                    List<Double> s = samples.get(op.getKey());
                    for (int i = 0; i < CHUNKS_PER_ROUND; i++) {
                        s.add(op.getValue().run(i % chunks) / (double) CHUNK);
                    }
                }
            }
            report(samples);
        }
    }

    /** A C loop's elapsed ns; it returns -1 when a call failed. */
    static long cLoop(long ns, String call) {
        if (ns < 0) throw new IllegalStateException(call + " failed in the C loop");
        return ns;
    }

    static long copyChunk(byte[] key, boolean critical) {
        long n = 0;
        long t = System.nanoTime();
        if (critical) {
            for (int i = 0; i < CHUNK; i++) n += BenchNatives.keyCriticalOnce(key);
        } else {
            for (int i = 0; i < CHUNK; i++) n += BenchNatives.keyRegionOnce(key);
        }
        long e = System.nanoTime() - t;
        sink += n;
        return e;
    }

    static long valueChunk(int len, boolean critical) {
        long n = 0;
        long t = System.nanoTime();
        if (critical) {
            for (int i = 0; i < CHUNK; i++) n += BenchNatives.valueCriticalOnce(len).length;
        } else {
            for (int i = 0; i < CHUNK; i++) n += BenchNatives.valueRegionOnce(len).length;
        }
        long e = System.nanoTime() - t;
        sink += n;
        return e;
    }

    static double pct(double[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.floor(p * sorted.length))];
    }

    static void report(Map<String, List<Double>> samples) {
        System.out.printf(Locale.ROOT, "mccache Java binding bench: %d keys of 16 B, values of %d B, %s%n",
                KEYS, VALUE_SIZE, System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        System.out.printf(Locale.ROOT, "%d rounds x %d chunks of %d ops per op after %d warm-up chunks; ns/op%n",
                ROUNDS, CHUNKS_PER_ROUND, CHUNK, WARMUP_CHUNKS);
        System.out.printf(Locale.ROOT, "%-20s %9s %9s %9s %9s %9s%n", "op", "p10", "p50", "p90", "p99", "mean");
        Map<String, Double> p50 = new LinkedHashMap<>();
        for (Map.Entry<String, List<Double>> e : samples.entrySet()) {
            double[] s = e.getValue().stream().mapToDouble(Double::doubleValue).toArray();
            Arrays.sort(s);
            double mean = Arrays.stream(s).average().orElse(0);
            p50.put(e.getKey(), pct(s, 0.5));
            System.out.printf(Locale.ROOT, "%-20s %9.1f %9.1f %9.1f %9.1f %9.1f%n",
                    e.getKey(), pct(s, 0.1), pct(s, 0.5), pct(s, 0.9), pct(s, 0.99), mean);
        }
        double getOver = p50.get("mccache_get") - p50.get("c_get");
        double getIntoOver = p50.get("mccache_get_into") - p50.get("c_get");
        double putOver = p50.get("mccache_put") - p50.get("c_put");
        System.out.println();
        System.out.printf(Locale.ROOT, "get overhead over the C API (p50): %.1f ns (get into a caller array: %.1f ns); target <= 60 ns: %s%n",
                getOver, getIntoOver, getOver <= 60 ? "met" : "NOT met");
        System.out.printf(Locale.ROOT, "put overhead over the C API (p50): %.1f ns%n", putOver);
        System.out.printf(Locale.ROOT, "empty JNI call: %.1f ns%n", p50.get("jni_noop"));
        System.out.printf(Locale.ROOT, "mccache/caffeine (p50): get %.2fx, put %.2fx%n",
                p50.get("mccache_get") / p50.get("caffeine_get"), p50.get("mccache_put") / p50.get("caffeine_put"));
        System.out.printf(Locale.ROOT, "key copy per call, region vs critical: 16 B %.1f vs %.1f ns, 64 B %.1f vs %.1f ns%n",
                p50.get("key16_region"), p50.get("key16_critical"), p50.get("key64_region"), p50.get("key64_critical"));
        System.out.printf(Locale.ROOT, "new %d B array per call, region vs critical: %.1f vs %.1f ns%n",
                VALUE_SIZE, p50.get("value100_region"), p50.get("value100_critical"));
    }
}
