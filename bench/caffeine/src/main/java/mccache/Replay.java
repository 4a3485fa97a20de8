package mccache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;

/**
 * Replays a trace as a read-through cache (get; on a miss, put) in Caffeine,
 * as bench/hitratio does in libmccache, and prints "trace capacity ratio
 * relabeled". Admission has a random part, so each capacity is the mean of
 * `runs` runs. The sketch hashes a Long key by its value, so with the
 * trace's own keys every run shares one set of sketch collisions; the
 * second ratio gives each run its own, by renaming every key through a
 * random bijection (an odd multiplier and an offset), as libmccache's
 * random per-store seed does.
 *
 * Usage: Replay TRACE_DIR RUNS trace:capacity...
 */
public final class Replay {
  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: Replay TRACE_DIR RUNS trace:capacity...");
      System.exit(2);
    }
    String dir = args[0];
    int runs = Integer.parseInt(args[1]);
    for (int a = 2; a < args.length; a++) {
      String[] tc = args[a].split(":");
      long[] trace = load(dir + "/" + tc[0] + ".trace.gz");
      long capacity = Long.parseLong(tc[1]);
      double sum = 0, relabeled = 0;
      for (int r = 0; r < runs; r++) sum += replay(trace, capacity);
      SplittableRandom random = new SplittableRandom(capacity * 31 + a);
      for (int r = 0; r < runs; r++) {
        long multiplier = random.nextLong() | 1, offset = random.nextLong();
        long[] renamed = new long[trace.length];
        for (int i = 0; i < trace.length; i++) renamed[i] = trace[i] * multiplier + offset;
        relabeled += replay(renamed, capacity);
      }
      System.out.printf("%s %d %.6f %.6f%n", tc[0], capacity, sum / runs, relabeled / runs);
    }
  }

  static double replay(long[] trace, long capacity) {
    Cache<Long, Long> cache = Caffeine.newBuilder().maximumSize(capacity).executor(Runnable::run).build();
    long hits = 0;
    for (long key : trace) {
      if (cache.getIfPresent(key) != null) {
        hits++;
      } else {
        cache.put(key, key);
      }
    }
    return (double) hits / trace.length;
  }

  // gzip text, one integer key per line; other lines (markers) are not accesses.
  static long[] load(String path) throws Exception {
    List<Long> keys = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(
        new GZIPInputStream(new FileInputStream(path))))) {
      for (String line; (line = in.readLine()) != null; ) {
        line = line.trim();
        if (line.isEmpty() || !Character.isDigit(line.charAt(0))) continue;
        try {
          keys.add(Long.parseLong(line));
        } catch (NumberFormatException e) {
          // not an access
        }
      }
    }
    long[] out = new long[keys.size()];
    for (int i = 0; i < out.length; i++) out[i] = keys.get(i);
    return out;
  }
}
