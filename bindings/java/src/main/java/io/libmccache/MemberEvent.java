package io.libmccache;

/**
 * One membership change, as delivered to a {@link MemberListener}.
 *
 * @param node the node whose listener receives the event
 * @param type what happened
 * @param nodeId the member's node id
 * @param incarnation random per start of that member (a restart changes it)
 * @param address "ip:port" of the member's unicast socket
 * @param lastSeenMs Unix ms of the last datagram from the member
 */
public record MemberEvent(Node node, MemberEventType type, long nodeId, long incarnation,
        String address, long lastSeenMs) {

    @Override
    public String toString() {
        return "MemberEvent[" + type + " " + Long.toUnsignedString(nodeId, 16) + " at " + address + "]";
    }
}
