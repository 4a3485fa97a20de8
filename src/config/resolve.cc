// Config::resolve: the typed settings, and the rules that span several keys.
#include <sys/socket.h>

#include "config/config.h"

namespace mccache::config {
namespace {

std::string where(const Config::Effective& e) {
    if (e.source == Source::Default) return "(default)";
    return "(from " + display_origin(e.origin) + ")";
}

// "cache_size 512KiB (from f.ini:3)": a value and where it came from, for messages.
std::string describe(const char* name, const Config::Effective& e) {
    const Setting& s = *find(name);
    return std::string(name) + " " + format_value(s, *e.value) + " " + where(e);
}

Status check_fits(const Config& c, std::string_view cache, const Config::Effective& value_max) {
    const Setting& size = *find("cache_size");
    Config::Effective e = c.effective(cache, size);
    if (e.value->num >= value_max.value->num) return Status::Ok();
    std::string of = cache.empty() ? "" : " of cache " + quote(cache);
    return Error(MCCACHE_ECONFIG,
                 "cache_size " + format_value(size, *e.value) + of + " " + where(e) +
                     " is smaller than " + describe("max_value_size", value_max) +
                     ": a value of the largest size could never be stored; raise cache_size "
                     "or lower max_value_size");
}

}  // namespace

Status Config::resolve(NodeSettings* out) const {
    auto get = [&](const char* name) -> const Value& { return *effective("", *find(name)).value; };
    NodeSettings n;

    n.interface_addr = get("interface").str;
    n.node_id = get("node_id").num;
    n.cluster_name = get("cluster_name").str;

    // McCache lets the group carry the port; the stronger source wins, and the
    // same source naming two ports is ambiguous.
    Effective group = effective("", *find("multicast_ip"));
    Effective port = effective("", *find("multicast_port"));
    n.multicast_group = group.value->str;
    n.multicast_port = static_cast<uint16_t>(port.value->num);
    if (group.value->num != 0 && port.source <= group.source) {
        if (port.source == group.source && port.value->num != group.value->num)
            return Error(MCCACHE_ECONFIG, describe("multicast_ip", group) + " and " +
                                              describe("multicast_port", port) +
                                              " name different ports; give the port once");
        n.multicast_port = static_cast<uint16_t>(group.value->num);
    }
    n.multicast_hops = static_cast<int>(get("multicast_hops").num);

    Effective iface = effective("", *find("interface"));
    int iface_family = ip_family(n.interface_addr), group_family = ip_family(n.multicast_group);
    if (iface_family != group_family)
        return Error(MCCACHE_ECONFIG,
                     describe("interface", iface) + " and " + describe("multicast_ip", group) +
                         " are of different address families; use " +
                         (iface_family == AF_INET6 ? "an IPv6 group (e.g. ff15::42)"
                                                   : "an IPv4 group (e.g. 239.255.42.42)"));

    std::string why;
    n.peers = get("peers").str;
    if (!parse_peers(n.peers, &n.peer_list, &why))
        return Error(MCCACHE_EINTERNAL, "peers: stored value no longer parses: " + why);
    n.packet_mtu = static_cast<uint32_t>(get("packet_mtu").num);
    n.crypto_key_b64 = get("crypto_key").str;
    if (!n.crypto_key_b64.empty() && !decode_key32(n.crypto_key_b64, &n.crypto_key, &why))
        return Error(MCCACHE_EINTERNAL, "crypto_key: stored value no longer decodes: " + why);

    std::string accept_b64 = get("crypto_key_accept").str;
    if (!accept_b64.empty() && !decode_key32(accept_b64, &n.crypto_key_accept, &why))
        return Error(MCCACHE_EINTERNAL, "crypto_key_accept: stored value no longer decodes: " + why);
    n.require_encryption = get("require_encryption").num != 0;
    n.send_direct = get("send_direct").num != 0;
    if (n.require_encryption && n.crypto_key.empty())
        return Error(MCCACHE_ECONFIG, "require_encryption is true but crypto_key is not set");

    n.pulse_ms = static_cast<int64_t>(get("cache_pulse").num);
    n.callback_win_ms = static_cast<int64_t>(get("callback_win").num);
    n.housekeeper_ms = static_cast<int64_t>(get("daemon_sleep").num);
    n.tombstone_ttl_ms = static_cast<int64_t>(get("tombstone_ttl").num);
    if (n.tombstone_ttl_ms < n.pulse_ms)
        return Error(MCCACHE_ECONFIG,
                     describe("tombstone_ttl", effective("", *find("tombstone_ttl"))) +
                         " is shorter than " +
                         describe("cache_pulse", effective("", *find("cache_pulse"))) +
                         ": a delete could be undone by an older write repaired in the next "
                         "anti-entropy round");

    n.log_filename = get("log_filename").str;
    n.log_format = static_cast<int>(get("log_format").num);
    n.log_level = static_cast<int>(get("log_level").num);
    n.max_key_size = get("max_key_size").num;
    n.max_value_size = get("max_value_size").num;
    n.event_queue_max = get("event_queue_max").num;
    n.listen_port = static_cast<uint16_t>(get("listen_port").num);
    switch (get("transport").num) {
        case 1: n.transport_mode = "multicast"; break;
        case 2: n.transport_mode = "unicast"; break;
        case 3: n.transport_mode = "none"; break;
        default: n.transport_mode = n.peer_list.empty() ? "multicast" : "unicast"; break;
    }
    if (n.transport_mode == "unicast" && n.peer_list.empty())
        return Error(MCCACHE_ECONFIG, "transport: unicast needs peers (host:port,...); none are set");
    n.heartbeat_ms = static_cast<int64_t>(get("heartbeat_interval").num);
    n.member_timeout_ms = static_cast<int64_t>(get("member_timeout").num);
    n.member_forget_ms = static_cast<int64_t>(get("member_forget").num);
    n.nack_delay_ms = static_cast<int64_t>(get("nack_delay").num);
    n.reassembly_timeout_ms = static_cast<int64_t>(get("reassembly_timeout").num);
    n.retransmit_buffer = get("retransmit_buffer").num;
    n.reassembly_buffer = get("reassembly_buffer").num;
    n.send_queue_max = get("send_queue_max").num;
    n.socket_buffer = get("socket_buffer").num;
    n.fault_drop = static_cast<int>(get("fault_drop").num);
    n.fault_drop_recv = static_cast<int>(get("fault_drop_recv").num);
    n.fault_duplicate = static_cast<int>(get("fault_duplicate").num);
    n.fault_delay = static_cast<int>(get("fault_delay").num);
    n.fault_delay_max_ms = static_cast<int64_t>(get("fault_delay_max").num);
    n.fault_seed = get("fault_seed").num;
    n.store_shards = static_cast<uint32_t>(get("store_shards").num);

    auto cache_settings = [&](std::string_view cache) {
        CacheSettings c;
        c.ttl_ms = static_cast<int64_t>(effective(cache, *find("cache_ttl")).value->num);
        c.max_entries = effective(cache, *find("cache_max")).value->num;
        c.max_bytes = effective(cache, *find("cache_size")).value->num;
        c.mode = static_cast<int>(effective(cache, *find("cache_mode")).value->num);
        c.eviction_policy = static_cast<int>(effective(cache, *find("eviction_policy")).value->num);
        auto ms = [&](const char* name) { return static_cast<int64_t>(effective(cache, *find(name)).value->num); };
        c.load_lease_ms = ms("load_lease");
        c.refresh_after_ms = ms("refresh_after");
        c.stale_while_revalidate_ms = ms("stale_while_revalidate");
        c.stale_if_error_ms = ms("stale_if_error");
        c.negative_ttl_ms = ms("negative_ttl");
        c.key_prefix = effective(cache, *find("key_prefix")).value->str;
        c.key_version = effective(cache, *find("key_version")).value->num;
        return c;
    };
    Effective value_max = effective("", *find("max_value_size"));
    if (Status st = check_fits(*this, "", value_max); !st.ok()) return st;
    n.cache_defaults = cache_settings("");
    for (const std::string& name : cache_names()) {
        if (Status st = check_fits(*this, name, value_max); !st.ok()) return st;
        n.caches.emplace(name, cache_settings(name));
    }

    *out = std::move(n);
    return Status::Ok();
}

}  // namespace mccache::config
