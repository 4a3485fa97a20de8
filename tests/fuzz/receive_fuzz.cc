// A real node's receive path (Cluster::receive_for_test, on its loop
// thread) fed sequences of datagrams: forged members, restarts, sequenced
// streams with gaps, fragments in any order, duplicates, and every payload
// type, built well-formed or not. Two long-lived nodes take the input: one
// without a key (anyone can forge its traffic, so every path is reachable)
// and one with a key and a second accepted key (the sealed path).
//
// Stateful: a sender is heard only after the freshness handshake, so the
// harness plays the forged members' side of it. The challenges a node sends
// land in the sink sockets; between messages (op & 0x20) and at the end of
// every input the harness reads them and, as the input decides, answers with
// a Response (its stream position and counters chosen by the input, its
// nonce sometimes wrong), lets it be lost, or answers twice.
//
// Input: a byte choosing the node, then messages until the input runs out:
//   op & 0x80: a raw datagram (u16 length, bytes);
//   otherwise: header fields, a payload built for the type (or raw), sent
//   whole or split into fragments delivered in an input-chosen order.
// The nodes persist across inputs, as a node does across datagrams; a hang
// shows up as a libFuzzer timeout, unbounded memory as its RSS limit.
#include <arpa/inet.h>
#include <mbedtls/base64.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cluster/cluster.h"
#include "config/config.h"
#include "crypto/seal.h"
#include "fuzz_input.h"
#include "node/node.h"
#include "wire/wire.h"

using namespace mccache;

namespace {

constexpr size_t kMtu = 576;  // small, so fragmentation needs small payloads
constexpr size_t kCap = kMtu - wire::kHeaderSize - wire::kTagSize;
constexpr size_t kMaxMessages = 64;

crypto::Key key_of(unsigned char base) {
    crypto::Key k;
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<unsigned char>(base + 3 * i);
    return k;
}

std::string b64(const crypto::Key& k) {
    unsigned char out[64];
    size_t len = 0;
    FUZZ_CHECK(mbedtls_base64_encode(out, sizeof out, &len, k.data(), k.size()) == 0);
    return std::string(reinterpret_cast<char*>(out), len);
}

// A socket the nodes send to (peers, replies to forged members) and that is
// never read: datagrams to it just fill its buffer and drop.
struct Sink {
    int fd = -1;
    transport::Address addr;
    Sink() {
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        addr = transport::Address::from(reinterpret_cast<sockaddr*>(&a));
    }
    std::string host_port() const { return addr.to_string(); }
};

struct Target {
    std::unique_ptr<node::Node> node;
    uint64_t cluster = 0;
    bool keyed = false;
    std::map<std::tuple<uint64_t, uint64_t, int>, std::unique_ptr<crypto::Sealer>> sealers;
    // The forged members' unicast counters (their Responses are numbered).
    std::map<std::pair<uint64_t, uint64_t>, uint64_t> to_one;
    // The node's own id and incarnation, a sealed unicast datagram's destination.
    uint64_t id = 0, incarnation = 0;
};

const uint64_t kSenders[] = {0x1111111111111111ull, 0x2222222222222222ull, 0x3333333333333333ull};

struct World {
    Sink sinks[2];
    Target plain, keyed;
};

std::unique_ptr<node::Node> open_node(const std::string& cluster, const Sink& peer, bool keyed) {
    config::Config c;
    auto set = [&](const char* k, const std::string& v) {
        Status st = c.set(k, v, config::Source::Api, "");
        if (!st.ok()) {
            std::fprintf(stderr, "receive_fuzz: %s: %s\n", k, st.message.c_str());
            std::abort();
        }
    };
    set("cluster_name", cluster);
    set("peers", peer.host_port());
    set("transport", "unicast");
    set("packet_mtu", std::to_string(kMtu));
    set("max_value_size", "16KiB");
    set("max_key_size", "1KiB");
    set("reassembly_buffer", "1MiB");
    set("reassembly_timeout", "2s");
    set("retransmit_buffer", "64KiB");
    set("log_level", "error");
    set("cache_pulse", "10m");
    set("heartbeat_interval", "1m");
    set("member_timeout", "1h");
    if (keyed) {
        set("crypto_key", b64(key_of(1)));
        set("crypto_key_accept", b64(key_of(2)));
    }
    std::unique_ptr<node::Node> n;
    Status st = node::Node::open(c, &n);
    if (!st.ok()) {
        std::fprintf(stderr, "receive_fuzz: cannot open a node: %s\n", st.message.c_str());
        std::abort();
    }
    node::Cache* cache = nullptr;
    bool created = false;
    n->open_cache("c", &cache, &created);
    return n;
}

World& world() {
    static World* w = [] {
        auto* x = new World;
        std::string base = "fuzz-receive-" + std::to_string(getpid());
        x->plain.node = open_node(base + "-plain", x->sinks[0], false);
        x->plain.cluster = wire::cluster_id(base + "-plain");
        x->keyed.node = open_node(base + "-keyed", x->sinks[0], true);
        x->keyed.cluster = wire::cluster_id(base + "-keyed");
        x->keyed.keyed = true;
        return x;
    }();
    return *w;
}

std::string cache_name(fuzz::Input& in) {
    static const char* names[] = {"c", "d", "sessions", "", "bad name", "../x"};
    uint8_t s = in.u8();
    if (s < 240) return names[s % 6];
    return in.bytes(80);
}

std::string records(fuzz::Input& in, uint64_t sender) {
    std::string out;
    wire::Writer w(out);
    int n = 1 + in.u8() % 4;
    for (int i = 0; i < n; ++i) {
        wire::Record r;
        r.op = static_cast<wire::Op>(1 + in.u8() % 3);
        std::string cache = cache_name(in), key = in.bytes(64), value = in.bytes(600);
        if (r.op != wire::Op::Clear && key.empty()) key = "k";
        r.cache = cache;
        if (r.op != wire::Op::Clear) r.key = key;
        if (r.op == wire::Op::Put) r.value = value;
        r.hlc = in.u64();
        r.node = in.flag() ? sender : in.u64();
        r.expires_ms = in.flag() ? -1 : static_cast<int64_t>(in.u32());
        wire::encode_record(w, r);
    }
    return out;
}

std::string payload_for(wire::Type type, fuzz::Input& in, uint64_t sender) {
    switch (type) {
        case wire::Type::Data:
        case wire::Type::Repair: return records(in, sender);
        case wire::Type::Heartbeat:
        case wire::Type::Goodbye: {
            uint64_t last = in.flag() ? in.u64() : in.u8();
            return wire::encode_heartbeat({last, in.u64()});
        }
        case wire::Type::Nack:
        case wire::Type::Gone:
        case wire::Type::RepairAck: {
            std::vector<wire::SeqRange> rs;
            int n = 1 + in.u8() % 4;
            for (int i = 0; i < n; ++i) {
                uint64_t from = in.flag() ? in.u64() : 1 + in.u8();
                uint64_t to = in.flag() ? in.u64() : from + in.u8();
                rs.push_back({from, to});
            }
            if (type == wire::Type::Gone) return wire::encode_ranges(rs);
            std::vector<wire::PartialMessage> partial;
            for (int i = in.u8() % 3; i > 0; --i) {
                wire::PartialMessage p;
                p.seq = in.flag() ? in.u64() : 1 + in.u8();
                p.highest = in.u16() % 300;
                p.tail = in.flag();
                for (int j = in.u8() % 4; j > 0 && p.highest > 0; --j) {
                    uint16_t a = static_cast<uint16_t>(in.u16() % p.highest);
                    uint16_t b = static_cast<uint16_t>(a + in.u8() % (p.highest - a));
                    p.missing.emplace_back(a, b);
                }
                partial.push_back(std::move(p));
            }
            if (type == wire::Type::Nack) {
                wire::Nack nack;
                nack.ranges = rs;
                nack.partial = partial;
                return wire::encode_nack(nack);
            }
            wire::RepairAck ack;
            ack.window = in.u32();
            for (auto& r : rs) ack.done.push_back(r.from);
            ack.partial = partial;
            return wire::encode_repair_ack(ack);
        }
        case wire::Type::DigestL1: {
            std::string cache = cache_name(in);
            wire::DigestL1 d;
            d.cache = cache;
            d.mode = in.u8() % 4;
            d.floor_hlc = in.flag() ? in.u64() : 0;
            d.floor_node = in.u64();
            for (auto& g : d.groups) g = in.flag() ? in.u64() : 0;
            return wire::encode_digest_l1(d);
        }
        case wire::Type::DigestL2: {
            std::string cache = cache_name(in);
            wire::DigestL2 d;
            d.cache = cache;
            d.group = in.u8() % 70;
            for (auto& b : d.buckets) b = in.flag() ? in.u64() : 0;
            return wire::encode_digest_l2(d);
        }
        case wire::Type::Keys: {
            std::string cache = cache_name(in), out;
            wire::Writer w(out);
            wire::Keys k;
            k.cache = cache;
            k.bucket = in.u16() % 4200;
            k.digest = in.u64();
            k.room_entries = in.flag() ? in.u64() : in.u8();
            k.room_bytes = in.flag() ? in.u64() : in.u16();
            k.horizon_hlc = in.flag() ? in.u64() : 0;
            k.horizon_node = in.u64();
            int n = in.u8() % 8;
            std::vector<std::string> keys;
            for (int i = 0; i < n; ++i) keys.push_back(in.bytes(40));
            wire::encode_keys_prefix(w, k, static_cast<uint32_t>(n));
            for (auto& key : keys) wire::encode_key_version(w, {key, in.u64(), in.u64(), in.flag()});
            return out;
        }
        case wire::Type::Pull: {
            std::string cache = cache_name(in);
            std::vector<std::string> keys;
            int n = in.u8() % 8;
            for (int i = 0; i < n; ++i) keys.push_back(in.bytes(40));
            std::vector<std::string_view> views(keys.begin(), keys.end());
            return wire::encode_pull(cache, views);
        }
        case wire::Type::Query:
        case wire::Type::QueryReply: {
            std::string cache = cache_name(in), body = in.bytes(200);
            wire::Query q;
            q.request_id = in.u64();
            q.kind = static_cast<wire::QueryKind>(in.u8() % 3);
            q.cache = cache;
            q.body = body;
            return wire::encode_query(q);
        }
        case wire::Type::Challenge: {
            wire::Challenge c;  // usually for a sender that is not this node: ignored
            c.target = in.flag() ? sender : in.u64();
            c.target_incarnation = in.u64();
            for (auto& b : c.nonce) b = in.u8();
            return wire::encode_challenge(c);
        }
        case wire::Type::Lease: {
            // Claims, answers and ends about keys this node may be loading.
            std::string cache = cache_name(in), key = in.bytes(40), message = in.bytes(60);
            wire::Lease l;
            l.kind = static_cast<wire::LeaseKind>(1 + in.u8() % wire::kMaxLeaseKind);
            l.cache = cache;
            l.key = key;
            l.claim_hlc = in.u64();
            l.claim_node = in.flag() ? sender : in.u64();
            l.version_hlc = in.u64();
            l.version_node = in.u64();
            l.ms = in.u32();
            l.code = l.kind == wire::LeaseKind::Failed ? -1 - in.u8() % 16 : 0;
            if (l.kind == wire::LeaseKind::Failed) l.message = message;
            return wire::encode_lease(l);
        }
        case wire::Type::Response: {
            wire::Response r;  // a guessed nonce: never admits anyone
            r.challenger = in.u64();
            r.challenger_incarnation = in.u64();
            for (auto& b : r.nonce) b = in.u8();
            r.last_seq = in.u64();
            r.to_all_seq = in.u64();
            r.to_one_seq = in.u64();
            return wire::encode_response(r);
        }
    }
    return {};
}

crypto::Sealer& sealer_of(Target& t, uint64_t sender, uint64_t incarnation, int key) {
    auto& s = t.sealers[{sender, incarnation, key}];
    if (!s) {
        s = std::make_unique<crypto::Sealer>(t.cluster, sender, incarnation);
        FUZZ_CHECK(s->set_keys({key_of(static_cast<unsigned char>(key))}, {}).ok());
    }
    return *s;
}

std::string frame(Target& t, fuzz::Input& in, wire::Header h, std::string_view payload) {
    uint8_t how = in.u8();
    if (!t.keyed || how % 16 == 0) {
        std::string d = wire::encode_plain(h, payload);
        if (how % 32 == 1 && !d.empty()) d.back() = static_cast<char>(d.back() ^ 1);  // bad CRC
        return d;
    }
    int key = how % 8 == 1 ? 3 : (how % 4 == 2 ? 2 : 1);  // 3: a key the node lacks
    // A unicast datagram is bound to its destination: usually this node,
    // sometimes another one (a replay from elsewhere).
    std::string aad;
    if (h.flags & wire::kFlagUnicast)
        aad = how % 64 == 3 ? wire::destination_aad(t.id ^ 1, t.incarnation) : wire::destination_aad(t.id, t.incarnation);
    return sealer_of(t, h.sender, h.incarnation, key).seal(h, payload, aad);
}

void build(Target& t, fuzz::Input& in, std::vector<std::string>* out) {
    const uint64_t* senders = kSenders;
    wire::Header h;
    h.type = static_cast<wire::Type>(1 + in.u8() % wire::kMaxType);
    switch (in.u8() % 3) {
        case 0: h.flags = wire::kFlagSequenced; break;
        case 1: h.flags = wire::kFlagUnicast; break;
        default: h.flags = 0; break;
    }
    h.cluster = in.u8() == 0xff ? in.u64() : t.cluster;
    uint8_t who = in.u8() % 8;
    h.sender = who < 3 ? senders[who] : who == 3 ? t.node->id() : who == 4 ? in.u64() : senders[0];
    h.incarnation = 1 + in.u8() % 3;
    switch (in.u8() % 4) {
        case 0: h.seq = in.u8(); break;
        case 1: h.seq = in.u16(); break;
        case 2: h.seq = in.u64(); break;
        default: h.seq = 1 + in.u8() % 8; break;
    }
    std::string payload;
    switch (in.u8() % 3) {
        case 0: payload = payload_for(h.type, in, h.sender); break;
        case 1: payload = in.bytes(2 * kCap); break;
        default: break;
    }
    uint8_t split = in.u8();
    if (split < 192 || payload.size() <= kCap) {
        if (split >= 250) {  // fragment fields that lie
            h.frag_count = in.u16();
            h.frag_index = in.u16();
            if (h.frag_count == 0) h.frag_count = 1;
            h.frag_index %= h.frag_count;
        }
        if (payload.size() > kCap && split < 128) payload.resize(kCap);
        std::string d = frame(t, in, h, payload);
        if (!d.empty()) out->push_back(std::move(d));
        return;
    }
    // Fragments of the payload, delivered in an order the input picks, some
    // twice, some never.
    size_t count = (payload.size() + kCap - 1) / kCap;
    h.frag_count = static_cast<uint16_t>(count);
    std::vector<std::string> frags;
    for (size_t i = 0; i < count; ++i) {
        h.frag_index = static_cast<uint16_t>(i);
        std::string d = frame(t, in, h, std::string_view(payload).substr(i * kCap, kCap));
        if (!d.empty()) frags.push_back(std::move(d));
    }
    for (size_t i = 0; i < frags.size() + 2 && !in.empty(); ++i) {
        uint8_t pick = in.u8();
        if (pick == 0xff) continue;  // a loss
        out->push_back(frags[pick % frags.size()]);
    }
}

// Reads what the node sent to the sinks and answers the Challenges among
// them, as the forged member they name would: the input decides whether an
// answer is sent, lost, sent twice, or carries a wrong nonce, and where the
// forged member's stream and counters stand. The answers go back through
// the receive path.
void answer_challenges(Target& t, World& w, fuzz::Input& in, std::vector<std::string>* out, std::vector<int>* from) {
    unsigned char buf[65536];
    for (int s = 0; s < 2; ++s) {
        for (;;) {
            ssize_t n = recv(w.sinks[s].fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0) break;
            wire::Header h;
            if (wire::decode_header(buf, static_cast<size_t>(n), &h) != wire::Error::None ||
                h.type != wire::Type::Challenge || h.sender != t.id || h.cluster != t.cluster)
                continue;
            // Which forged member it is for: the one it opens for (sealed),
            // or the one it names (in the clear).
            wire::Challenge c;
            bool found = false;
            if (!t.keyed) {
                std::string_view body;
                found = wire::decode_plain(buf, static_cast<size_t>(n), &h, &body) == wire::Error::None &&
                        wire::decode_challenge(body, &c) == wire::Error::None;
            } else {
                for (uint64_t sender : kSenders) {
                    for (uint64_t inc = 1; inc <= 3 && !found; ++inc) {
                        std::string opened;
                        crypto::Sealer& opener = sealer_of(t, sender, inc, 1);
                        if (opener.open(buf, static_cast<size_t>(n), h, &opened, wire::destination_aad(sender, inc)) ==
                                crypto::Sealer::Open::Ok &&
                            wire::decode_challenge(opened, &c) == wire::Error::None)
                            found = true;
                    }
                    if (found) break;
                }
            }
            if (!found) continue;
            uint8_t how = in.u8();
            if (how % 8 == 7) continue;  // lost
            wire::Response r;
            r.challenger = how % 16 == 5 ? t.id ^ 2 : t.id;
            r.challenger_incarnation = h.incarnation;
            std::memcpy(r.nonce, c.nonce, sizeof r.nonce);
            if (how % 32 == 9) r.nonce[in.u8() % sizeof r.nonce] ^= 1;
            r.last_seq = in.flag() ? in.u64() : in.u8();
            r.to_all_seq = in.u8();
            r.to_one_seq = in.u8();
            r.started_ms = in.u64();
            wire::Header rh;
            rh.type = wire::Type::Response;
            rh.flags = wire::kFlagUnicast;
            rh.cluster = t.cluster;
            rh.sender = c.target;
            rh.incarnation = c.target_incarnation;
            rh.seq = ++t.to_one[{c.target, c.target_incarnation}];
            std::string payload = wire::encode_response(r);
            std::string d = t.keyed ? sealer_of(t, rh.sender, rh.incarnation, 1)
                                          .seal(rh, payload, wire::destination_aad(t.id, t.incarnation))
                                    : wire::encode_plain(rh, payload);
            for (int copies = how % 16 == 3 ? 2 : 1; copies > 0 && !d.empty(); --copies) {
                out->push_back(d);
                from->push_back(s);
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // What an input did, for whoever writes seeds or reads a crash.
    static const bool verbose = std::getenv("RECEIVE_FUZZ_VERBOSE") != nullptr;
    World& w = world();
    fuzz::Input in(data, size);
    Target& t = in.u8() & 1 ? w.keyed : w.plain;
    t.id = t.node->id();
    t.incarnation = t.node->cluster().incarnation();
    std::vector<std::string> datagrams;
    std::vector<int> from;
    auto deliver = [&] {
        t.node->run_on_loop([&] {
            for (size_t i = 0; i < datagrams.size(); ++i) {
                const std::string& d = datagrams[i];
                // An exact-size copy: a read past its end is an ASan report.
                std::vector<unsigned char> buf(d.begin(), d.end());
                const auto& m = t.node->cluster().counters();
                const uint64_t malformed = m.get(metrics::ClusterMetric::rejected_malformed);
                const uint64_t records = m.get(metrics::ClusterMetric::rejected_records);
                t.node->cluster().receive_for_test(buf.data(), buf.size(), w.sinks[from[i]].addr);
                if (verbose) {
                    wire::Header h;
                    wire::Error e = wire::decode_header(buf.data(), buf.size(), &h);
                    std::fprintf(stderr, "  %zu bytes: %s type %d flags %d sender %016llx seq %llu frag %u/%u%s%s\n",
                                 buf.size(), wire::error_name(e), int(h.type), h.flags,
                                 static_cast<unsigned long long>(h.sender), static_cast<unsigned long long>(h.seq),
                                 h.frag_index, h.frag_count,
                                 m.get(metrics::ClusterMetric::rejected_malformed) > malformed ? " MALFORMED" : "",
                                 m.get(metrics::ClusterMetric::rejected_records) > records ? " BAD-RECORD" : "");
                }
            }
        });
        datagrams.clear();
        from.clear();
    };
    size_t sent = 0;
    while (!in.empty() && sent < kMaxMessages) {
        uint8_t op = in.u8();
        size_t before = datagrams.size();
        if (op & 0x80) datagrams.push_back(in.bytes(2048));
        else build(t, in, &datagrams);
        for (size_t i = before; i < datagrams.size(); ++i) from.push_back(op & 0x40 ? 1 : 0);
        sent += datagrams.size() - before;
        if (op & 0x20) {  // let the node's challenges be answered before what comes next
            deliver();
            answer_challenges(t, w, in, &datagrams, &from);
            deliver();
        }
    }
    deliver();
    answer_challenges(t, w, in, &datagrams, &from);
    deliver();
    if (verbose)
        std::fprintf(stderr, "%zu datagrams to the %s node; %s\n", sent, t.keyed ? "keyed" : "plain",
                     t.node->metrics_json().c_str());
    return 0;
}
