package mccache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Replays a trace as a read-through cache (get; on a miss, put) in Caffeine,
 * as bench/hitratio does in libmccache, and prints "trace capacity ratio".
 * Admission has a random part, so each capacity is the mean of `runs` runs.
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
      double sum = 0;
      for (int r = 0; r < runs; r++) sum += replay(trace, capacity);
      System.out.printf("%s %d %.6f%n", tc[0], capacity, sum / runs);
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
