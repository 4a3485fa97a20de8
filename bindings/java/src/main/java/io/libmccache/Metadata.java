package io.libmccache;

import java.time.Instant;
import java.util.Optional;

/**
 * Metadata of one entry (mccache_metadata_t). Times are Unix milliseconds;
 * unsigned C fields are carried in longs (use Long.toUnsignedString for display).
 *
 * @param versionHlc version: 48-bit milliseconds &lt;&lt; 16 | 16-bit counter
 * @param versionNode version: id of the node that wrote it
 * @param createdMs first write of this key on this node
 * @param updatedMs last write applied on this node
 * @param expiresMs absolute expiry, or -1 for never
 * @param lastLookupMs last get, or 0 if never looked up
 * @param lookups number of gets that hit this entry
 * @param keySize bytes of the key
 * @param valueSize bytes of the value
 * @param chargedBytes bytes counted against {@code cache_size}
 * @param checksum the entry's checksum (as {@link Cache#keyChecksum(byte[])})
 */
public record Metadata(long versionHlc, long versionNode, long createdMs, long updatedMs,
        long expiresMs, long lastLookupMs, long lookups, long keySize, long valueSize,
        long chargedBytes, long checksum) {

    /** The number of fields the glue fills, in declaration order. */
    static final int FIELDS = 11;

    static Metadata of(long[] f) {
        return new Metadata(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]);
    }

    /** When the entry expires, or empty if never. */
    public Optional<Instant> expires() {
        return expiresMs < 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(expiresMs));
    }
}
