package io.libmccache;

import java.nio.charset.StandardCharsets;

/**
 * One change to a cache, as delivered to a {@link ChangeListener}. The arrays
 * are copies owned by the listener.
 *
 * @param cache the view whose listener receives the event
 * @param type what happened
 * @param origin whether this node or another member made the change
 * @param key the key
 * @param value the new value for inserts and updates, else the old one; may be null
 * @param versionHlc the change's version: 48-bit milliseconds &lt;&lt; 16 | counter
 * @param versionNode the id of the node that made the change
 * @param lastLookupMs Unix ms of the key's last get on this node before the change; 0 if never
 * @param timeMs Unix ms at which the change was applied on this node
 */
public record Event(Cache cache, EventType type, Origin origin, byte[] key, byte[] value,
        long versionHlc, long versionNode, long lastLookupMs, long timeMs) {

    /** The key decoded as UTF-8. */
    public String keyString() {
        return new String(key, StandardCharsets.UTF_8);
    }

    /** The value decoded as UTF-8, or null. */
    public String valueString() {
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "Event[" + type + " " + origin + " " + cache.name() + "/" + keyString()
                + " v=" + Long.toUnsignedString(versionHlc, 16) + "@"
                + Long.toUnsignedString(versionNode, 16) + "]";
    }
}
