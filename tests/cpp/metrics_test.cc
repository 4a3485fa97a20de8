// The metrics output is the table: every metric of src/metrics/metrics.h
// appears at its path with its kind, and nothing appears that the table
// (and so docs/METRICS.md) does not declare.
#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "crypto/aead.h"
#include "metrics/metrics.h"
#include "node/node.h"

using namespace mccache;

namespace {

// Every leaf of `o` as a dotted path.
void leaves(const cJSON* o, const std::string& prefix, std::set<std::string>* out) {
    for (const cJSON* c = o->child; c; c = c->next) {
        std::string path = prefix.empty() ? c->string : prefix + "." + c->string;
        if (cJSON_IsObject(c)) leaves(c, path, out);
        else out->insert(path);
    }
}

const cJSON* at(const cJSON* o, const std::string& dotted) {
    size_t start = 0;
    for (;;) {
        size_t dot = dotted.find('.', start);
        std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        o = cJSON_GetObjectItemCaseSensitive(o, part.c_str());
        if (!o || dot == std::string::npos) return o;
        start = dot + 1;
    }
}

template <typename E>
void matches_table(const cJSON* group, const char* what) {
    ASSERT_NE(group, nullptr) << what;
    std::set<std::string> declared;
    for (const metrics::Def& d : metrics::defs<E>()) {
        declared.insert(d.name);
        const cJSON* v = at(group, d.name);
        ASSERT_NE(v, nullptr) << what << ": " << d.name << " is declared but not reported";
        if (d.kind == metrics::Kind::Info) EXPECT_TRUE(cJSON_IsString(v)) << what << ": " << d.name;
        else EXPECT_TRUE(cJSON_IsNumber(v)) << what << ": " << d.name;
    }
    std::set<std::string> reported;
    leaves(group, "", &reported);
    for (const std::string& r : reported) EXPECT_TRUE(declared.count(r)) << what << ": " << r << " is not in the table";
}

TEST(Metrics, TheOutputIsExactlyTheTable) {
    config::Config cfg;
    ASSERT_TRUE(cfg.set("transport", "none", config::Source::Api, "api").ok());
    std::unique_ptr<node::Node> n;
    ASSERT_TRUE(node::Node::open(cfg, &n).ok());
    node::Cache* c;
    bool created;
    ASSERT_TRUE(n->open_cache("m", &c, &created).ok());
    c->put("k", 1, "v", 1, MCCACHE_TTL_NEVER);
    std::unique_ptr<cJSON, decltype(&cJSON_Delete)> root(cJSON_Parse(n->metrics_json().c_str()), cJSON_Delete);
    ASSERT_NE(root, nullptr);
    matches_table<metrics::NodeMetric>(cJSON_GetObjectItemCaseSensitive(root.get(), "node"), "node");
    matches_table<metrics::CacheMetric>(at(root.get(), "caches.m"), "caches.m");
    matches_table<metrics::ClusterMetric>(cJSON_GetObjectItemCaseSensitive(root.get(), "cluster"), "cluster");
    std::unique_ptr<cJSON, decltype(&cJSON_Delete)> one(cJSON_Parse(c->metrics_json().c_str()), cJSON_Delete);
    matches_table<metrics::CacheMetric>(one.get(), "cache metrics");
    EXPECT_EQ(at(root.get(), "caches.m.entries")->valuedouble, 1);
    EXPECT_EQ(at(root.get(), "node.puts")->valuedouble, 1);
    n->close();
}

// Which AEAD backend seals (the build's choice: -DMCCACHE_CRYPTO) is visible
// where an operator looks, and "off" without a key.
TEST(Metrics, TheNodeSaysHowItSeals) {
    for (bool keyed : {false, true}) {
        config::Config cfg;
        ASSERT_TRUE(cfg.set("transport", "none", config::Source::Api, "api").ok());
        if (keyed) {
            ASSERT_TRUE(cfg.set("crypto_key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", config::Source::Api, "api").ok());
        }
        std::unique_ptr<node::Node> n;
        ASSERT_TRUE(node::Node::open(cfg, &n).ok());
        std::unique_ptr<cJSON, decltype(&cJSON_Delete)> root(cJSON_Parse(n->metrics_json().c_str()), cJSON_Delete);
        const cJSON* v = at(root.get(), "node.sealing");
        ASSERT_TRUE(cJSON_IsString(v));
        EXPECT_STREQ(v->valuestring, keyed ? crypto::backend_name() : "off");
        n->close();
    }
    EXPECT_TRUE(std::string(crypto::backend_name()) == "openssl" || std::string(crypto::backend_name()) == "mbedtls");
}

TEST(Metrics, NamesAreUniqueAndDocumented) {
    auto check = [](std::span<const metrics::Def> defs) {
        std::set<std::string> seen;
        for (const metrics::Def& d : defs) {
            EXPECT_TRUE(seen.insert(d.name).second) << d.name;
            EXPECT_GT(std::string(d.help).size(), 8u) << d.name;
        }
    };
    check(metrics::defs<metrics::NodeMetric>());
    check(metrics::defs<metrics::CacheMetric>());
    check(metrics::defs<metrics::ClusterMetric>());
}

TEST(Metrics, CountersAddSetAndRaise) {
    metrics::Counters<metrics::ClusterMetric> c;
    c.add(metrics::ClusterMetric::nacks_sent);
    c.add(metrics::ClusterMetric::nacks_sent, 4);
    c.raise(metrics::ClusterMetric::replication_lag_max_ms, 7);
    c.raise(metrics::ClusterMetric::replication_lag_max_ms, 3);
    c.set(metrics::ClusterMetric::members_alive, 2);
    EXPECT_EQ(c.get(metrics::ClusterMetric::nacks_sent), 5u);
    EXPECT_EQ(c.get(metrics::ClusterMetric::replication_lag_max_ms), 7u);
    EXPECT_EQ(c.get(metrics::ClusterMetric::members_alive), 2u);
    auto s = metrics::Snapshot<metrics::ClusterMetric>::of(c);
    EXPECT_EQ(s[metrics::ClusterMetric::nacks_sent], 5);
}

}  // namespace
