package io.libmccache;

/**
 * Receives the answers to {@link Node#clusterRequest}, on the node's callback
 * thread ({@code mccache-callbacks}): once per answering member (this node
 * answers too), then exactly once more with {@code memberId == 0} and a null
 * {@code json} when every live member has answered or the timeout has passed
 * (during {@link Node#close()}, on the closing thread, if the node closes
 * first). It should return quickly: the node's other listeners wait for it.
 */
@FunctionalInterface
public interface ReplyListener {
    /**
     * @param memberId the answering member's node id, or 0 for the final call
     * @param json the member's answer as JSON, or null for the final call
     */
    void onReply(long memberId, String json);
}
