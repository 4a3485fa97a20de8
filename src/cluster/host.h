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

protected:
    ~Host() = default;
};

}  // namespace mccache::cluster
