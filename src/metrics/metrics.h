// The one table of metrics. Every counter and gauge the engine reports is
// declared here once, with its kind, unit and help text; the engine counts
// into Counters<> indexed by these ids, and the JSON output, the generated
// docs/METRICS.md and any other exposition walk the same table, so a name
// cannot drift between the code, the output and the documentation.
//
// A name is the metric's path in the JSON object of its group: "hits", or
// "rejected.malformed" for a member of a nested object.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace mccache::metrics {

enum class Kind : uint8_t {
    Counter,  // only ever grows (until the node closes)
    Gauge,    // a level that goes up and down, or a setting in force
    Info,     // text: an id, an address, a checksum
};

struct Def {
    const char* name;  // JSON path within its group
    Kind kind;
    const char* unit;  // "" when it is a plain count of what the name says
    const char* help;
};

// X(id, "json.path", Kind, "unit", "help")

// One cache: mccache_cache_metrics_json(), and "caches"."NAME" of mccache_metrics_json().
#define MCCACHE_CACHE_METRICS(X)                                                                            \
    X(entries, "entries", Gauge, "entries", "Live entries (tombstones excluded).")                          \
    X(tombstones, "tombstones", Gauge, "entries", "Tombstones held: deletes remembered until tombstone_ttl.") \
    X(bytes, "bytes", Gauge, "bytes", "Bytes charged against cache_size: keys, values and per-entry overhead as allocated.") \
    X(max_entries, "max_entries", Gauge, "entries", "The cache_max in force.")                              \
    X(max_bytes, "max_bytes", Gauge, "bytes", "The cache_size in force.")                                   \
    X(lookups, "lookups", Counter, "", "Gets: hits plus misses.")                                           \
    X(hits, "hits", Counter, "", "Gets that found a live entry.")                                           \
    X(misses, "misses", Counter, "", "Gets that found nothing live.")                                       \
    X(hit_ratio, "hit_ratio", Gauge, "ratio", "hits / lookups (0 before the first lookup).")                \
    X(puts, "puts", Counter, "", "Writes applied: inserts plus updates, local and remote.")                 \
    X(inserts, "inserts", Counter, "", "Writes that stored a new key.")                                     \
    X(updates, "updates", Counter, "", "Writes that replaced a live value.")                                \
    X(deletes, "deletes", Counter, "", "Live entries deleted (explicitly or by a clear).")                   \
    X(evictions_max_entries, "evictions.max_entries", Counter, "", "Entries evicted to respect cache_max.")   \
    X(evictions_max_bytes, "evictions.max_bytes", Counter, "", "Entries evicted to respect cache_size.")     \
    X(evictions_total, "evictions.total", Counter, "", "Entries evicted, for either limit.")                \
    X(expirations, "expirations", Counter, "", "Entries removed because their TTL ran out.")                \
    X(stale_writes, "stale_writes", Counter, "", "Writes refused because a newer version was held.")        \
    X(tombstones_collected, "tombstones_collected", Counter, "", "Tombstones collected after tombstone_ttl or under byte pressure.") \
    X(horizon_refused, "horizon_refused", Counter, "", "Remote writes refused for a key not held, at or below its bucket's collection horizon (the newest collected tombstone's version).") \
    X(loader_loads, "loader.loads", Counter, "", "Loader runs on this node (mccache_get_or_load: misses and reloads).") \
    X(loader_successes, "loader.successes", Counter, "", "Loader runs that returned a value (stored and replicated).") \
    X(loader_failures, "loader.failures", Counter, "", "Loader runs that failed; every caller waiting for them got the error.") \
    X(loader_time_ms, "loader.time_ms", Counter, "ms", "Time spent in loaders on this node.")                      \
    X(loader_waits, "loader.waits", Counter, "", "get_or_load calls that waited for a load run by another caller, here or on another member.") \
    X(loader_remote_waits, "loader.remote_waits", Counter, "", "Loads of this node that waited for another member's load (its lease).") \
    X(loader_refreshes, "loader.refreshes", Counter, "", "Reloads of a present value: refresh_after or stale_while_revalidate.") \
    X(loader_stale_served, "loader.stale_served", Counter, "", "Values served past their TTL (stale_while_revalidate, stale_if_error).") \
    X(loader_negative_hits, "loader.negative_hits", Counter, "", "get_or_load calls answered with a cached failure (negative_ttl).") \
    X(checksum, "checksum", Info, "", "Order-independent digest of the live entries (hex); equal on members with equal contents.")

// A node: "node" of mccache_metrics_json(), totals over its caches plus its own work.
#define MCCACHE_NODE_METRICS(X)                                                                             \
    X(id, "id", Info, "", "The node id (hex).")                                                             \
    X(sealing, "sealing", Info, "", "How traffic is sealed: off (no crypto_key), or the AEAD backend in use (openssl, mbedtls).") \
    X(caches, "caches", Gauge, "", "Caches open on this node.")                                             \
    X(entries, "entries", Gauge, "entries", "Live entries over every cache.")                               \
    X(bytes, "bytes", Gauge, "bytes", "Bytes charged over every cache.")                                    \
    X(lookups, "lookups", Counter, "", "Gets over every cache.")                                            \
    X(hits, "hits", Counter, "", "Hits over every cache.")                                                  \
    X(misses, "misses", Counter, "", "Misses over every cache.")                                            \
    X(puts, "puts", Counter, "", "Writes applied over every cache.")                                        \
    X(inserts, "inserts", Counter, "", "Inserts over every cache.")                                         \
    X(updates, "updates", Counter, "", "Updates over every cache.")                                         \
    X(deletes, "deletes", Counter, "", "Deletes over every cache.")                                         \
    X(evictions, "evictions", Counter, "", "Evictions over every cache.")                                   \
    X(expirations, "expirations", Counter, "", "Expirations over every cache.")                             \
    X(events_queued, "events_queued", Counter, "", "Change events queued for the dispatcher thread.")       \
    X(events_delivered, "events_delivered", Counter, "", "Change events passed to a change callback.")      \
    X(events_dropped, "events_dropped", Counter, "", "Change events dropped: the queue held event_queue_max (a slow callback), or the node was closing.") \
    X(callbacks_pending, "callbacks_pending", Gauge, "", "Work waiting for the dispatcher thread: events, member changes, replies, log lines.") \
    X(log_lines_dropped, "log_lines_dropped", Counter, "", "Log lines for a log callback dropped because 1024 were already waiting.") \
    X(housekeeper_runs, "housekeeper_runs", Counter, "", "Housekeeping passes (every daemon_sleep).")        \
    X(housekeeper_removed, "housekeeper_removed", Counter, "", "Entries and tombstones the housekeeper removed.")

// The node's cluster work: "cluster" of mccache_metrics_json().
#define MCCACHE_CLUSTER_METRICS(X)                                                                          \
    X(address, "address", Info, "", "This node's unicast address (ip:port).")                              \
    X(members_alive, "members_alive", Gauge, "", "Other members heard from within member_timeout.")        \
    X(members_joined, "members_joined", Counter, "", "Members first heard from.")                          \
    X(members_left, "members_left", Counter, "", "Members that said goodbye.")                             \
    X(members_down, "members_down", Counter, "", "Members declared down after member_timeout of silence: the first sign of an overloaded or partitioned node.") \
    X(members_recovered, "members_recovered", Counter, "", "Members heard from again after being down.")   \
    X(members_restarted, "members_restarted", Counter, "", "Members that came back with a new incarnation.") \
    X(packet_mtu, "packet_mtu", Gauge, "bytes", "The packet_mtu in force (the interface's, less IP and UDP headers, when the setting is 0).") \
    X(socket_rcvbuf, "socket_rcvbuf", Gauge, "bytes", "Receive buffer the kernel granted (socket_buffer asks; net.core.rmem_max caps).") \
    X(socket_sndbuf, "socket_sndbuf", Gauge, "bytes", "Send buffer the kernel granted (net.core.wmem_max caps).") \
    X(packets_out, "packets_out", Counter, "datagrams", "Datagrams sent.")                                 \
    X(bytes_out, "bytes_out", Counter, "bytes", "Bytes sent (UDP payload).")                               \
    X(packets_in, "packets_in", Counter, "datagrams", "Datagrams received.")                               \
    X(bytes_in, "bytes_in", Counter, "bytes", "Bytes received (UDP payload).")                             \
    X(send_errors, "send_errors", Counter, "datagrams", "Datagrams the socket refused with an error other than a full buffer.") \
    X(send_queued, "send_queued", Counter, "datagrams", "Datagrams left to libuv's queue because the socket buffer was full.") \
    X(gso_sends, "gso_sends", Counter, "", "Messages the kernel cut into several datagrams (UDP GSO).")     \
    X(gso_refused, "gso_refused", Counter, "", "GSO sends a device refused; the node then sends datagram by datagram.") \
    X(own_datagrams_in, "own_datagrams_in", Counter, "datagrams", "Our own multicast, looped back to us and set aside before opening.") \
    X(queries_resent, "queries_resent", Counter, "", "Cluster requests asked again of a member that had not answered.") \
    X(records_sent, "records_sent", Counter, "records", "Records sent on the replication stream.")         \
    X(records_sent_direct, "records_sent_direct", Counter, "records", "Of records_sent, those sent on the writer's own thread (send_direct).") \
    X(records_received, "records_received", Counter, "records", "Records received and applied or judged stale.") \
    X(data_messages_sent, "data_messages_sent", Counter, "", "Messages sent on the replication stream.")  \
    X(data_messages_received, "data_messages_received", Counter, "", "Stream messages received (duplicates excluded).") \
    X(records_per_message, "records_per_message", Gauge, "ratio", "records_sent / data_messages_sent: how well writes are batched.") \
    X(fragments_sent, "fragments_sent", Counter, "datagrams", "Datagrams that carry a fragment of a larger message.") \
    X(fragments_received, "fragments_received", Counter, "datagrams", "Fragments received.")             \
    X(nacks_sent, "nacks_sent", Counter, "", "Requests to resend missing stream messages.")               \
    X(nacks_received, "nacks_received", Counter, "", "Resend requests received.")                         \
    X(retransmits, "retransmits", Counter, "", "Stream messages resent (whole, or the fragments asked for).") \
    X(retransmit_datagrams, "retransmit_datagrams", Counter, "datagrams", "Datagrams resent to the member that asked.") \
    X(retransmits_multicast, "retransmits_multicast", Counter, "datagrams", "Datagrams resent once to everyone, because many members asked.") \
    X(duplicates, "duplicates", Counter, "", "Stream messages or fragments received twice.")              \
    X(gaps_unrepairable, "gaps_unrepairable", Counter, "", "Stream messages that could no longer be resent; anti-entropy repairs what they carried.") \
    X(gone_sent, "gone_sent", Counter, "", "Answers that requested messages are no longer held.")         \
    X(stale_records, "stale_records", Counter, "records", "Received records older than what was held.")   \
    X(send_queue_overflow, "send_queue_overflow", Counter, "records", "Writes not queued for replication because send_queue_max was reached (anti-entropy carries them).") \
    X(reassembly_dropped, "reassembly_dropped", Counter, "", "Partial messages dropped: over reassembly_buffer or older than reassembly_timeout.") \
    X(ae_rounds, "ae_rounds", Counter, "", "Anti-entropy rounds started.")                                  \
    X(ae_groups_deferred, "ae_groups_deferred", Counter, "", "Digest groups left to the member already converging them.") \
    X(ae_groups_agreed, "ae_groups_agreed", Counter, "", "Digest groups left alone: their difference is one the last exchange found nothing to do about (keys the mode or the room keeps one side from taking).") \
    X(ae_digests_received, "ae_digests_received", Counter, "", "Cache digests received.")                 \
    X(ae_buckets_compared, "ae_buckets_compared", Counter, "", "Buckets whose key lists were exchanged.") \
    X(ae_keys_repaired, "ae_keys_repaired", Counter, "records", "Entries changed here by a repair.")      \
    X(ae_keys_pulled, "ae_keys_pulled", Counter, "", "Keys asked of another member.")                     \
    X(repair_messages_sent, "repair.messages_sent", Counter, "", "Repair messages sent (each acknowledged by its receiver).") \
    X(repair_exchange_sent, "repair.exchange_sent", Counter, "", "Key lists and pulls sent on the repair channel.") \
    X(repair_datagrams_resent, "repair.datagrams_resent", Counter, "datagrams", "Repair datagrams sent again: reported missing, or unacknowledged for a round-trip timeout.") \
    X(repair_acks_received, "repair.acks_received", Counter, "", "Acknowledgements of repairs received.") \
    X(repair_losses, "repair.losses", Counter, "", "Losses that cut a repair flow's window (at most one per round trip).") \
    X(leases_claims_sent, "leases.claims_sent", Counter, "", "Load lease claims sent to every member (a miss of get_or_load, or a refresh, on a replicated cache).") \
    X(leases_claims_resent, "leases.claims_resent", Counter, "", "Claims sent again to a member that had not answered.") \
    X(leases_granted, "leases.granted", Counter, "", "Other members' claims this node granted.") \
    X(leases_won, "leases.won", Counter, "", "Claims of this node that every live member granted: this node loads the key.") \
    X(leases_lost, "leases.lost", Counter, "", "Claims of this node that lost to an earlier one: another member loads the key.") \
    X(leases_polls_sent, "leases.polls_sent", Counter, "", "Questions to a leaseholder about its load (a waiter repairing a lost end notice).") \
    X(leases_takeovers, "leases.takeovers", Counter, "", "Claims made because the lease waited on expired or its holder went down.") \
    X(replication_lag_samples, "replication_lag_samples", Counter, "", "Remote writes whose lag was measured.") \
    X(replication_lag_sum_ms, "replication_lag_sum_ms", Counter, "ms", "Sum of the measured lags (write time to applied here).") \
    X(replication_lag_avg_ms, "replication_lag_avg_ms", Gauge, "ms", "replication_lag_sum_ms / replication_lag_samples.") \
    X(replication_lag_max_ms, "replication_lag_max_ms", Gauge, "ms", "The largest lag measured.")          \
    X(handshake_challenges_sent, "handshake.challenges_sent", Counter, "", "Challenges sent to a sender with no live state here, or to a new address of a member.") \
    X(handshake_responses_sent, "handshake.responses_sent", Counter, "", "Challenges answered.")            \
    X(handshake_completed, "handshake.completed", Counter, "", "Senders admitted (or addresses validated) by a round trip.") \
    X(handshake_dropped, "handshake.dropped", Counter, "datagrams", "Datagrams dropped because their sender was not yet admitted there.") \
    X(handshake_evicted, "handshake.evicted", Counter, "", "Unanswered challenges pushed out of the pending table by newer ones.") \
    X(handshake_budget_refused, "handshake.budget_refused", Counter, "", "Datagrams not sent to an unvalidated address: over three times what it sent us.") \
    X(rejected_malformed, "rejected.malformed", Counter, "datagrams", "Dropped: did not parse.")          \
    X(rejected_bad_checksum, "rejected.bad_checksum", Counter, "datagrams", "Dropped: CRC32C mismatch.")  \
    X(rejected_wrong_cluster, "rejected.wrong_cluster", Counter, "datagrams", "Dropped: another cluster_name.") \
    X(rejected_unknown_version, "rejected.unknown_version", Counter, "datagrams", "Dropped: a wire version this node does not speak.") \
    X(rejected_oversize, "rejected.oversize", Counter, "", "Dropped: lengths beyond the limits.")         \
    X(rejected_records, "rejected.records", Counter, "records", "Records dropped: bad name, key or value size.") \
    X(rejected_auth_failed, "rejected.auth_failed", Counter, "datagrams", "Dropped: did not authenticate under any accepted key.") \
    X(rejected_replayed, "rejected.replayed", Counter, "datagrams", "Dropped: seen before, or from an earlier life or a departed member.") \
    X(rejected_plaintext, "rejected.plaintext", Counter, "datagrams", "Dropped: not sealed, and this node holds a key.") \
    X(rejected_oversize_datagram, "rejected.oversize_datagram", Counter, "datagrams", "Dropped: larger than any datagram the protocol sends.") \
    X(faults_dropped_out, "faults.dropped_out", Counter, "datagrams", "Injected faults (tests): sends dropped.") \
    X(faults_dropped_in, "faults.dropped_in", Counter, "datagrams", "Injected faults (tests): receives dropped.") \
    X(faults_duplicated, "faults.duplicated", Counter, "datagrams", "Injected faults (tests): sends duplicated.") \
    X(faults_delayed, "faults.delayed", Counter, "datagrams", "Injected faults (tests): sends delayed.")

#define MCCACHE_METRIC_ENUM(id, name, kind, unit, help) id,
enum class CacheMetric : uint16_t { MCCACHE_CACHE_METRICS(MCCACHE_METRIC_ENUM) count };
enum class NodeMetric : uint16_t { MCCACHE_NODE_METRICS(MCCACHE_METRIC_ENUM) count };
enum class ClusterMetric : uint16_t { MCCACHE_CLUSTER_METRICS(MCCACHE_METRIC_ENUM) count };
#undef MCCACHE_METRIC_ENUM

template <typename E>
inline constexpr size_t kCount = static_cast<size_t>(E::count);

// The definitions of one group, in declaration order (the order of output).
template <typename E>
std::span<const Def> defs();
// "cache", "node" or "cluster".
template <typename E>
const char* group_name();

// Live values, written by the engine from any thread. Relaxed atomics: each
// figure is exact, a set of them is not a snapshot.
template <typename E>
class Counters {
public:
    void add(E id, uint64_t n = 1) { v_[index(id)].fetch_add(n, std::memory_order_relaxed); }
    void set(E id, uint64_t n) { v_[index(id)].store(n, std::memory_order_relaxed); }
    void raise(E id, uint64_t n) {  // to at least n
        std::atomic<uint64_t>& a = v_[index(id)];
        uint64_t old = a.load(std::memory_order_relaxed);
        while (n > old && !a.compare_exchange_weak(old, n, std::memory_order_relaxed)) {
        }
    }
    uint64_t get(E id) const { return v_[index(id)].load(std::memory_order_relaxed); }

private:
    static constexpr size_t index(E id) { return static_cast<size_t>(id); }
    std::array<std::atomic<uint64_t>, kCount<E>> v_{};
};

// One reading of a group, for output.
template <typename E>
struct Snapshot {
    std::array<double, kCount<E>> num{};
    std::array<std::string, kCount<E>> text{};  // Info metrics only

    double& operator[](E id) { return num[static_cast<size_t>(id)]; }
    double operator[](E id) const { return num[static_cast<size_t>(id)]; }
    void set_text(E id, std::string s) { text[static_cast<size_t>(id)] = std::move(s); }
    const std::string& text_of(E id) const { return text[static_cast<size_t>(id)]; }

    // Every counter and gauge as Counters<> holds it.
    static Snapshot of(const Counters<E>& c) {
        Snapshot s;
        for (size_t i = 0; i < kCount<E>; ++i) s.num[i] = static_cast<double>(c.get(static_cast<E>(i)));
        return s;
    }
};

// Renders a snapshot as a JSON object (nested by the dotted names), compact.
template <typename E>
std::string to_json(const Snapshot<E>& s);

// One reading of a whole node: what every exposition (JSON, Prometheus)
// renders, taken once so that the renderings agree.
struct Reading {
    Snapshot<NodeMetric> node;
    std::vector<std::pair<std::string, Snapshot<CacheMetric>>> caches;  // by name
    bool has_cluster = false;
    Snapshot<ClusterMetric> cluster;
};

}  // namespace mccache::metrics
