package io.libmccache;

/**
 * Receives a cache's changes on the node's callback thread
 * ({@code mccache-callbacks}). It should return quickly: the node's other
 * listeners (changes, members, log lines, replies) wait for it, and changes
 * past {@code event_queue_max} are dropped.
 * See {@link Cache#setChangeListener(ChangeListener)}.
 */
@FunctionalInterface
public interface ChangeListener {
    void onChange(Event event);
}
