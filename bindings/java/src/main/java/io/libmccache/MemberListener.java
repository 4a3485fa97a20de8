package io.libmccache;

/**
 * Receives a node's membership changes (members joining, leaving, going
 * down, recovering, restarting) on the node's callback thread
 * ({@code mccache-callbacks}). It should return quickly: the node's other
 * listeners wait for it (membership itself does not). See {@link Node#setMemberListener(MemberListener)}.
 */
@FunctionalInterface
public interface MemberListener {
    void onMember(MemberEvent event);
}
