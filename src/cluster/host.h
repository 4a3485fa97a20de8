// What the cluster needs of the node that runs it, and nothing more: its
// identity, clock, settings and log, its caches by name, the answers to
// cluster requests, and where to report membership changes. The node
// implements it; nothing under src/cluster/ knows the node itself.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "obs/log.h"
#include "store/hlc.h"
#include "store/store.h"
#include "wire/wire.h"

namespace mccache::cluster {

// A cache as replication sees it: a store and the mode that says how remote
// writes apply to it.
class Replica {
public:
    virtual const std::string& name() const = 0;
    virtual store::Store& store() = 0;
    virtual int mode() const = 0;  // MCCACHE_MODE_*
    // A replicated Put of `key` was applied here (loop thread): callers
    // waiting for another member's load of it can stop waiting.
    virtual void remote_put(std::string_view key) = 0;

protected:
    ~Replica() = default;
};

// A membership change, as reported to the node (loop thread).
struct MemberEvent {
    int event;  // MCCACHE_MEMBER_*
    uint64_t id;
    uint64_t incarnation;
    std::string address;
    int64_t last_seen_ms;
};

// What became of this node's request for a key's load lease (leases.h), as
// reported to the node (loop thread). The node's own load ends with the
// same kinds (Leases::end).
struct LeaseEvent {
    enum class Kind {
        Won,       // every live member granted our claim: load it now
        Waiting,   // another member's claim holds the key: wait for its load
        Loaded,    // a load ended with a value of `version` (it is on its way)
        Failed,    // a load failed: `code`, `message`; members cache it for `negative_ms`
        Released,  // a lease ended without a value
    };
    Kind kind = Kind::Won;
    store::Version claim;    // the claim it is about
    store::Version version;  // Loaded
    int32_t code = 0;        // Failed
    std::string message;
    uint32_t negative_ms = 0;
    // Failed: about a load this node neither claimed nor waited for (a late
    // notice, or another member's): worth remembering, not an answer.
    bool notice = false;
};

class Host {
public:
    virtual uint64_t node_id() const = 0;
    virtual const config::NodeSettings& settings() const = 0;
    virtual int64_t now_ms() const = 0;  // Unix ms, the coarse clock
    virtual store::Hlc& hlc() = 0;
    virtual obs::Logger& log() = 0;

    // A cache by name, or nullptr. With `create`, one a peer names is opened
    // here (nullptr past the node's limit on caches).
    virtual Replica* find_cache(std::string_view name, bool create) = 0;
    virtual void for_each_cache(const std::function<void(Replica&)>& fn) = 0;

    // This node's answer to a cluster request, as JSON.
    virtual std::string query_answer(wire::QueryKind kind, std::string_view cache) = 0;
    // Called on the loop thread; must not block.
    virtual void member_changed(const MemberEvent& event) = 0;
    // A lease request of this node progressed (Leases::acquire), or another
    // member's load ended. Loop thread; must not block.
    virtual void lease_event(std::string_view cache, std::string_view key, const LeaseEvent& event) = 0;

protected:
    ~Host() = default;
};

}  // namespace mccache::cluster
