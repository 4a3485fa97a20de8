// Freshness, not just authenticity (docs/SECURITY.md §3): what an attacker
// who only captures and resends datagrams, or spoofs a source, can no longer
// do. Each test is an attack that worked before the handshake.
#include "cluster_attack.h"
#include "rogue.h"

namespace {

// ---- captures of what a node sends, unicast included ---------------------------

struct Sent {
    std::string to;  // ip:port
    std::string bytes;
    wire::Header h;
};

// What it captured outlives it: the node may still send after the test.
class Tap {
public:
    explicit Tap(const Node& n) : state_(std::make_shared<State>()) {
        n.node->node->set_send_tap([state = state_](const mccache::transport::Address& to, std::string_view d) {
            Sent s;
            s.to = to.to_string();
            s.bytes.assign(d);
            if (wire::decode_header(reinterpret_cast<const unsigned char*>(d.data()), d.size(), &s.h) !=
                wire::Error::None)
                return;
            std::lock_guard<std::mutex> lock(state->mu);
            state->sent.push_back(std::move(s));
        });
    }
    std::vector<Sent> of(wire::Type type, const std::string& to) const {
        std::lock_guard<std::mutex> lock(state_->mu);
        std::vector<Sent> out;
        for (const Sent& s : state_->sent)
            if (s.h.type == type && s.to == to) out.push_back(s);
        return out;
    }

private:
    struct State {
        std::mutex mu;
        std::vector<Sent> sent;
    };
    std::shared_ptr<State> state_;
};

// A socket that plays a victim (or a spoofed source): it counts what it
// sends and what the node sends back to it.
class Victim {
public:
    Victim() {
        fd_ = support::loopback_socket(nullptr, 8 << 20);
    }
    ~Victim() { close(fd_); }
    void send(const sockaddr_in& to, const std::string& d) {
        if (sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) > 0)
            sent_ += d.size();
    }
    // Drains what arrived within `window`.
    void drain(std::chrono::milliseconds window) {
        auto until = std::chrono::steady_clock::now() + window;
        char buf[65536];
        while (std::chrono::steady_clock::now() < until) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 10) <= 0) continue;
            ssize_t n = recv(fd_, buf, sizeof buf, 0);
            if (n > 0) received_ += static_cast<size_t>(n);
        }
    }
    size_t sent() const { return sent_; }
    size_t received() const { return received_; }

private:
    int fd_ = -1;
    size_t sent_ = 0, received_ = 0;
};

class Freshness : public Security {
protected:
    std::string key = generate_key();

    // The member ids a node lists, by state.
    std::map<std::string, MemberView> view(const Node& n) { return members(n.node); }

    sockaddr_in addr_of(const Node& n) { return ipv4(unicast_address(n.node)); }

    // A flood of forged ids from one address while a real member joins from
    // another; `slow` settings for that member (fault_delay holds back its
    // datagrams, so its Response comes thousands of forged ids after the
    // Challenge).
    void flood_then_join(Settings slow, std::chrono::milliseconds deadline) {
        Node a = open();
        std::atomic<bool> stop{false};
        std::atomic<uint64_t> flooded{0};
        const sockaddr_in target = addr_of(a);
        std::thread flood([&] {
            Injector inj;
            wire::Header h;
            h.type = wire::Type::Heartbeat;
            h.cluster = cluster;
            h.incarnation = 1;
            h.seq = 1;
            uint64_t id = 0x100000;
            while (!stop) {
                h.sender = ++id;
                inj.send(target, wire::encode_plain(h, wire::encode_heartbeat({0, 1})));
                if (++flooded % 64 == 0) std::this_thread::sleep_for(1ms);
            }
        });
        if (!wait_until([&] { return flooded > 2048; })) {
            stop = true;
            flood.join();
            FAIL() << "the flood never got going";
        }
        Node b = open(std::move(slow));
        const std::string b_id = hex_id(b.node);
        const bool joined = wait_until([&] { return view(a)[b_id].state == "alive"; }, deadline);
        stop = true;
        flood.join();
        EXPECT_TRUE(joined) << "a flood of " << flooded << " forged ids kept a real member out";
        EXPECT_EQ(metric(a.node, "cluster.members_alive"), 1u) << "forged ids were admitted";
        EXPECT_GT(metric(a.node, "cluster.handshake.evicted"), 0u);
    }
};

// 1. A sealed unicast Repair captured on its way to C, replayed to A: before,
// A applied it (and moved its address for B to the replayer). The seal now
// names its destination, so it opens only at C.
TEST_F(Freshness, AUnicastDatagramReplayedToAnotherMemberDoesNotOpen) {
    Node a = open({{"crypto_key", key}});
    Node b = open({{"crypto_key", key}});
    Node c = open({{"crypto_key", key}, {"fault_drop_recv", "100"}});
    wait_for_members({a, b}, 1);
    Tap tap_a(a), tap_b(b);
    for (int i = 0; i < 20; ++i) put(b, "k" + std::to_string(i), "v" + std::to_string(i));
    ASSERT_TRUE(wait_until([&] { return len(a) == 20; }));
    ASSERT_EQ(len(c), 0u);
    // C hears again: anti-entropy repairs it, by unicast, from A or B.
    c.node->node->set_faults(0, 0);
    ASSERT_TRUE(converge({a, b, c}));
    const std::string c_addr = unicast_address(c.node);
    std::vector<Sent> repairs;
    Node sender, other;
    ASSERT_TRUE(wait_until([&] {
        if (!(repairs = tap_a.of(wire::Type::Repair, c_addr)).empty()) sender = a, other = b;
        else if (!(repairs = tap_b.of(wire::Type::Repair, c_addr)).empty()) sender = b, other = a;
        return !repairs.empty();
    })) << "nobody sent C a repair";
    ASSERT_TRUE(repairs[0].h.flags & wire::kFlagUnicast);
    // The writes are deleted everywhere before the replay.
    for (int i = 0; i < 20; ++i) {
        const std::string k = "k" + std::to_string(i);
        mccache_delete(b.cache, k.data(), k.size());
    }
    ASSERT_TRUE(wait_until([&] { return len(a) == 0 && len(b) == 0 && len(c) == 0; }));
    const std::string sender_addr_seen = view(other)[hex_id(sender.node)].address;
    const uint64_t auth_before = metric(other.node, "cluster.rejected.auth_failed");
    // To the other member, from the sender's own address (an attacker on
    // the path) and from elsewhere.
    for (const Sent& r : repairs) inject(other, r.bytes, address_of(unicast_address(sender.node)));
    EXPECT_EQ(metric(other.node, "cluster.rejected.auth_failed"), auth_before + repairs.size())
        << "a repair sealed for C opened elsewhere";
    Injector inj;
    for (const Sent& r : repairs) ASSERT_TRUE(inj.send(addr_of(other), r.bytes));
    std::this_thread::sleep_for(100ms);  // the injector's copies: judged, never applied
    EXPECT_EQ(len(other), 0u) << "a repair meant for C was applied elsewhere";
    EXPECT_EQ(view(other)[hex_id(sender.node)].address, sender_addr_seen);
}

// 2. A member that restarted holds no state for anyone: a captured Data
// datagram delivered to it before the sender's next heartbeat used to start
// the sender's stream there and be applied (3 runs in 5). Now the stream
// starts where the sender's answer to a challenge says, after it.
TEST_F(Freshness, AReplayAtFirstContactAfterARestartIsNotApplied) {
    auto sniff = std::make_unique<Sniffer>(port, cluster);
    ASSERT_TRUE(sniff->ok());
    Node a = open({{"crypto_key", key}});
    Node b = open({{"crypto_key", key}});
    wait_for_members(nodes, 1);
    const std::string b_id = hex_id(b.node);
    put(b, "k", "old");
    ASSERT_TRUE(wait_until([&] { return get(a, "k") == "old"; }));
    ASSERT_TRUE(wait_until([&] { return !sniff->of(b_id, wire::Type::Data).empty(); }));
    Captured old_write = sniff->of(b_id, wire::Type::Data).back();
    ASSERT_EQ(mccache_delete(b.cache, "k", 1), MCCACHE_OK);
    ASSERT_TRUE(wait_until([&] { return get(a, "k") == "<miss>"; }));
    // A restarts: a new incarnation, an empty cache, no member table. B's
    // heartbeats are far apart, so the replay arrives first.
    mccache_close(a.node);
    nodes.erase(nodes.begin());
    Node a2 = open({{"crypto_key", key}, {"heartbeat_interval", "50ms"}});
    const mccache::transport::Address from_b = address_of(unicast_address(b.node));
    inject(a2, old_write.bytes, from_b);  // as if from B
    Injector inj;
    ASSERT_TRUE(inj.send(addr_of(a2), old_write.bytes));  // and from elsewhere
    EXPECT_EQ(get(a2, "k"), "<miss>") << "applied before the sender proved it is alive now";
    // B answers A's challenge; A converges to B's state, where k is deleted.
    ASSERT_TRUE(wait_until([&] { return view(a2)[b_id].state == "alive"; }));
    inject(a2, old_write.bytes, from_b);  // now older than where B's stream stood
    ASSERT_TRUE(converge({a2, b}));
    EXPECT_EQ(get(a2, "k"), "<miss>");
    EXPECT_GE(metric(a2.node, "cluster.handshake.completed"), 1u);
}

// 3. 65 s after a member left and was forgotten, replays of its old
// datagrams re-created it on the others and brought a deleted key back.
TEST_F(Freshness, ReplaysOfAForgottenMemberDoNotRecreateIt) {
    auto sniff = std::make_unique<Sniffer>(port, cluster);
    ASSERT_TRUE(sniff->ok());
    const Settings fast = {{"crypto_key", key}, {"member_timeout", "100ms"}, {"member_forget", "1s"}};
    Node a = open(fast);
    Node c = open(fast);
    wait_for_members(nodes, 1);
    const std::string c_id = hex_id(c.node);
    const mccache::transport::Address from_c = address_of(unicast_address(c.node));
    put(c, "k", "from c");
    ASSERT_TRUE(wait_until([&] { return get(a, "k") == "from c"; }));
    ASSERT_TRUE(wait_until([&] {
        return !sniff->of(c_id, wire::Type::Data).empty() && sniff->of(c_id, wire::Type::Heartbeat).size() >= 2;
    }));
    std::vector<Captured> replay = sniff->of(c_id, wire::Type::Data);
    for (auto& hb : sniff->of(c_id, wire::Type::Heartbeat)) replay.push_back(hb);
    ASSERT_EQ(mccache_delete(a.cache, "k", 1), MCCACHE_OK);
    mccache_close(c.node);
    nodes.pop_back();
    ASSERT_TRUE(wait_until([&] { return view(a).count(c_id) == 0; })) << "C was never forgotten";
    const uint64_t held_before = metric(a.node, "cluster.handshake.dropped");
    Injector inj;
    for (const Captured& d : replay) {
        inject(a, d.bytes, from_c);
        ASSERT_TRUE(inj.send(addr_of(a), d.bytes));
    }
    ASSERT_TRUE(wait_until([&] { return metric(a.node, "cluster.handshake.dropped") >= held_before + 2 * replay.size(); }));
    std::this_thread::sleep_for(200ms);  // time for an answer that must not come: C is gone
    EXPECT_EQ(view(a).count(c_id), 0u) << "a replay re-created a forgotten member";
    EXPECT_EQ(get(a, "k"), "<miss>");
    EXPECT_EQ(metric(a.node, "cluster.members_alive"), 0u);
}

// 4. A write made before a delete, arriving after the delete's tombstone
// was collected (a member partitioned for longer than tombstone_ttl, or a
// datagram held back that long): with nothing left to compare it against,
// it brought the deleted key back. The key's bucket now remembers the
// newest tombstone it collected, and refuses older writes for keys it
// does not hold.
TEST_F(Freshness, AWriteOlderThanACollectedDeleteDoesNotBringTheKeyBack) {
    Node a = open({{"crypto_key", key}, {"tombstone_ttl", "1s"}, {"cache_pulse", "1s"}, {"daemon_sleep", "50ms"}});
    const uint64_t late_id = 0x1a7e;
    rogue::Rogue late(cluster, late_id, 0x1000, key);  // a real member, with the key, whose write was held up
    ASSERT_TRUE(late.ok());
    ASSERT_TRUE(late.join(addr_of(a), 0));
    ASSERT_TRUE(wait_until([&] { return view(a)[hex_of(late_id)].state == "alive"; }));

    put(a, "k", "v");
    mccache_metadata_t md{};
    md.struct_size = sizeof md;
    ASSERT_EQ(mccache_metadata(a.cache, "k", 1, &md), MCCACHE_OK);
    const uint64_t before_delete = md.version_hlc;  // the held-up write was made then
    ASSERT_EQ(mccache_delete(a.cache, "k", 1), MCCACHE_OK);
    ASSERT_TRUE(wait_until([&] { return metric(a.node, "caches.c.tombstones_collected") >= 1; }))
        << "the tombstone was never collected";
    ASSERT_EQ(metric(a.node, "caches.c.horizon_refused"), 0u);

    auto record = [&](const std::string& k, const std::string& v, uint64_t hlc, uint8_t flags) {
        wire::Record r;
        r.flags = flags;
        r.cache = "c";
        r.key = k;
        r.value = v;
        r.hlc = hlc;
        r.node = late_id;
        std::string out;
        wire::Writer w(out);
        wire::encode_record(w, r);
        return out;
    };
    // On its stream, beside a write made now (the control: the message is applied).
    const auto wall = std::chrono::system_clock::now().time_since_epoch();
    const uint64_t now_hlc = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(wall).count()) << 16;
    ASSERT_TRUE(late.send(addr_of(a), wire::Type::Data, wire::kFlagSequenced,
                          record("k", "back from the dead", before_delete, 0) + record("fresh", "new", now_hlc, 0), 1));
    ASSERT_TRUE(wait_until([&] { return get(a, "fresh") == "new"; })) << "the stream message was never applied";
    EXPECT_EQ(get(a, "k"), "<miss>") << "a write older than a collected delete brought the key back";
    EXPECT_EQ(metric(a.node, "caches.c.horizon_refused"), 1u);
    // And as a repair, sealed for A.
    ASSERT_TRUE(late.send(addr_of(a), wire::Type::Repair, wire::kFlagUnicast,
                          record("k", "back from the dead", before_delete, wire::kRecordRepair)));
    ASSERT_TRUE(wait_until([&] { return metric(a.node, "caches.c.horizon_refused") >= 2; }));
    EXPECT_EQ(get(a, "k"), "<miss>");
    // A write after the delete is a new value of the key, not a resurrection.
    put(a, "k", "new value");
    EXPECT_EQ(get(a, "k"), "new value");
}

// 5. Without a key a spoofed source used to be answered with up to 30,600
// times what it sent (a NACK answered with the retransmit buffer). Before
// its address is validated, a node now sends it at most three times the
// bytes it received from it.
TEST_F(Freshness, ASpoofedSourceGetsAtMostThreeTimesWhatItSent) {
    auto sniff = std::make_unique<Sniffer>(port, cluster);
    ASSERT_TRUE(sniff->ok());
    Node a = open({{"retransmit_buffer", "8MiB"}});
    Node b = open();
    wait_for_members(nodes, 1);
    const std::string value(1000, 'x');
    for (int i = 0; i < 2000; ++i) put(a, "key-" + std::to_string(i), value);
    ASSERT_TRUE(wait_until([&] { return len(b) == 2000; }));
    ASSERT_TRUE(wait_until([&] { return !sniff->of(hex_id(b.node), wire::Type::Heartbeat).empty(); }));
    const wire::Header b_header = sniff->of(hex_id(b.node), wire::Type::Heartbeat).back().h;
    auto as_b = [&](wire::Type type, uint8_t flags, const std::string& payload, uint64_t seq) {
        wire::Header h = b_header;  // B's id and incarnation: a known member, from the wrong address
        h.type = type;
        h.flags = flags;
        h.seq = seq;
        return wire::encode_plain(h, payload);
    };
    auto as_new = [&](uint64_t id, wire::Type type, const std::string& payload) {
        wire::Header h;
        h.type = type;
        h.cluster = cluster;
        h.sender = id;
        h.incarnation = 7;
        h.seq = 1;
        return wire::encode_plain(h, payload);
    };
    std::vector<std::string_view> keys;
    std::vector<std::string> names;
    for (int i = 0; i < 500; ++i) names.push_back("key-" + std::to_string(i));
    for (auto& n : names) keys.push_back(n);
    wire::Query q;
    q.request_id = 42;
    q.kind = wire::QueryKind::Metrics;
    const std::vector<std::pair<const char*, std::string>> attacks = {
        {"nack", as_b(wire::Type::Nack, wire::kFlagUnicast, wire::encode_ranges({{1, 1u << 20}}), 1u << 30)},
        {"pull", as_b(wire::Type::Pull, wire::kFlagUnicast, wire::encode_pull("c", keys), (1u << 30) + 1)},
        {"heartbeat-new-id", as_new(0xA11CE, wire::Type::Heartbeat, wire::encode_heartbeat({1, 1}))},
        {"query", as_new(0xB0B, wire::Type::Query, wire::encode_query(q))},
        {"digest", as_new(0xC0C0, wire::Type::DigestL1, [&] {
             wire::DigestL1 d;
             d.cache = "c";
             return wire::encode_digest_l1(d);
         }())},
    };
    for (auto& [what, datagram] : attacks) {
        Victim v;
        for (int i = 0; i < 5; ++i) v.send(addr_of(a), datagram);
        v.drain(500ms);
        EXPECT_LE(v.received(), 3 * v.sent()) << what << ": sent " << v.sent() << ", got back " << v.received();
    }
    EXPECT_GT(metric(a.node, "cluster.handshake.budget_refused") + metric(a.node, "cluster.handshake.challenges_sent"),
              0u);
}

// 6. 1024 forged heartbeats with new ids used to fill the member table and
// keep a real new member out for about 60 s.
TEST_F(Freshness, AFloodOfNewIdsCannotKeepARealMemberOut) {
    // member_timeout is 1 s here: the real member is in within it.
    flood_then_join({}, 1s);
}

// Evicting at random, a flood of tens of thousands of ids a second gave
// each pending entry about 1.6 ms: a member whose round trip was slower
// (a loaded host; TSan in CI) never got in. Eviction now takes from the
// address holding the most entries, so a slow round trip still completes.
TEST_F(Freshness, AFloodCannotOutlastASlowRoundTrip) {
    flood_then_join({{"fault_delay", "100"}, {"fault_delay_max", "150ms"}}, 5s);
}

// 7. A forged Goodbye used to cut a live member off for 60 s.
TEST_F(Freshness, AForgedGoodbyeDoesNotCutALiveMemberOff) {
    auto sniff = std::make_unique<Sniffer>(port, cluster);
    ASSERT_TRUE(sniff->ok());
    Node a = open();
    Node b = open();
    wait_for_members(nodes, 1);
    const std::string b_id = hex_id(b.node);
    ASSERT_TRUE(wait_until([&] { return !sniff->of(b_id, wire::Type::Heartbeat).empty(); }));
    wire::Header h = sniff->of(b_id, wire::Type::Heartbeat).back().h;
    h.type = wire::Type::Goodbye;
    h.seq += 1000;  // ahead of B's counter: fresh to the replay window
    const std::string goodbye = wire::encode_plain(h, wire::encode_heartbeat({0, 1}));
    // From another address: a datagram of B's from where B is not counts for
    // nothing (its sender must answer a challenge there first).
    Injector inj;
    ASSERT_TRUE(inj.send(addr_of(a), goodbye));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(view(a)[b_id].state, "alive");
    EXPECT_EQ(metric(a.node, "cluster.members_left"), 0u);
    // From B's own address (without a key, anyone on the path can): A takes
    // B for gone, hears B's next heartbeat, challenges it, and B, alive,
    // answers: back within a heartbeat and a round trip.
    h.seq += 1;
    inject(a, wire::encode_plain(h, wire::encode_heartbeat({0, 1})), address_of(unicast_address(b.node)));
    EXPECT_EQ(view(a)[b_id].state, "left");
    EXPECT_TRUE(wait_until([&] { return view(a)[b_id].state == "alive"; }, 1s)) << "cut off past member_timeout";
    EXPECT_GE(metric(a.node, "cluster.members_recovered"), 1u);
}

TEST_F(Freshness, WithAKeyAGoodbyeInTheClearIsRefused) {
    auto sniff = std::make_unique<Sniffer>(port, cluster);
    ASSERT_TRUE(sniff->ok());
    Node a = open({{"crypto_key", key}});
    Node b = open({{"crypto_key", key}});
    wait_for_members(nodes, 1);
    const std::string b_id = hex_id(b.node);
    ASSERT_TRUE(wait_until([&] { return !sniff->of(b_id, wire::Type::Heartbeat).empty(); }));
    wire::Header h = sniff->of(b_id, wire::Type::Heartbeat).back().h;
    h.type = wire::Type::Goodbye;
    h.seq += 1000;
    const uint64_t plain_before = metric(a.node, "cluster.rejected.plaintext");
    inject(a, wire::encode_plain(h, wire::encode_heartbeat({0, 1})), address_of(unicast_address(b.node)));
    EXPECT_EQ(metric(a.node, "cluster.rejected.plaintext"), plain_before + 1);
    EXPECT_EQ(view(a)[b_id].state, "alive");
}

// 8. Names that are not text (invalid UTF-8, a newline) used to reach the
// metrics JSON (invalid JSON) and the log (a forged line).
TEST_F(Freshness, CacheNamesAreTextFromTheApiAndFromTheNetwork) {
    Node a = open();
    mccache_cache_t* c = nullptr;
    for (const char* bad : {"line\nbreak", "\xff\xfe", "c1\xc2\x85x", "tab\tname", "\xed\xa0\x80surrogate"}) {
        EXPECT_EQ(mccache_cache_open(a.node, bad, &c), MCCACHE_EINVAL) << bad;
        EXPECT_NE(std::string(mccache_last_error()).find("cache name"), std::string::npos);
    }
    EXPECT_EQ(mccache_cache_open(a.node, "caf\xc3\xa9-\xe2\x82\xac", &c), MCCACHE_OK) << "UTF-8 is a valid name";
    // From a member that passed the handshake: its records name bad caches.
    rogue::Rogue member(cluster, 0xFEED, 1);
    ASSERT_TRUE(member.join(addr_of(a), 0));
    ASSERT_TRUE(wait_until([&] { return view(a).count(hex_of(0xFEED)) == 1; }));
    std::string records;
    wire::Writer w(records);
    for (const char* bad : {"evil\n2026-12-06T00:00:00Z ERROR forged line", "\xff\xff", "ok-name"}) {
        wire::Record r;
        r.cache = bad;
        r.key = "k";
        r.value = "v";
        r.hlc = 1 << 16;
        r.node = 0xFEED;
        wire::encode_record(w, r);
    }
    const uint64_t bad_before = metric(a.node, "cluster.rejected.records");
    ASSERT_TRUE(member.send(addr_of(a), wire::Type::Data, wire::kFlagSequenced, records, 1));
    ASSERT_TRUE(wait_until([&] { return metric(a.node, "cluster.rejected.records") >= bad_before + 2; }));
    char* j = nullptr;
    ASSERT_EQ(mccache_metrics_json(a.node, &j), MCCACHE_OK);
    std::string m(j);
    mccache_free(j);
    cJSON* parsed = cJSON_Parse(m.c_str());
    EXPECT_NE(parsed, nullptr) << "metrics JSON does not parse";
    cJSON_Delete(parsed);
    EXPECT_EQ(m.find('\n'), std::string::npos);
    EXPECT_EQ(m.find("\xff"), std::string::npos);
    EXPECT_NE(m.find("\"ok-name\""), std::string::npos) << "the valid record was applied";
}

}  // namespace
