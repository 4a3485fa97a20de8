// White-box tests of the configuration layer: schema, value parsing, sources
// and precedence, INI and environment loading, resolve() and JSON.
#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <csignal>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/parse.h"
#include "config/schema.h"

namespace mccache::config {
namespace {

// 32 bytes of 0x00..0x1f, and 16 bytes, in base64.
constexpr const char* kKey32 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr const char* kKey16 = "AAECAwQFBgcICQoLDA0ODw==";

std::string text_of(const Config& c, std::string_view key) {
    std::string out;
    Status st = c.get_text(key, &out);
    EXPECT_TRUE(st.ok()) << st.message;
    return out;
}

// An envp array that owns its strings; the real environment is never touched.
class Env {
   public:
    Env(std::initializer_list<std::string> vars) : vars_(vars) {
        for (std::string& v : vars_) ptrs_.push_back(v.data());
        ptrs_.push_back(nullptr);
    }
    char** get() { return ptrs_.data(); }

   private:
    std::vector<std::string> vars_;
    std::vector<char*> ptrs_;
};

class TempDir : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/mccache-config-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& body) {
        std::string path = dir_ + "/" + name;
        std::ofstream(path, std::ios::binary) << body;
        return path;
    }

    std::string dir_;
};

// ---------------------------------------------------------------- schema ---

TEST(Schema, DefaultsAreCanonicalAndInRange) {
    std::set<std::string> names;
    for (const Setting& s : settings()) {
        EXPECT_TRUE(names.insert(s.name).second) << "duplicate " << s.name;
        EXPECT_EQ(format_value(s, default_value(s)), s.default_text) << s.name;
        EXPECT_NE(std::string(s.doc), "") << s.name;
        EXPECT_EQ(find(s.name), &s);
        if (s.section_alias) {
            EXPECT_EQ(s.scope, Scope::Cache);
            EXPECT_EQ(find_cache_key(s.section_alias), &s);
        }
    }
}

TEST(Schema, EnvNamesAndSuggestions) {
    EXPECT_EQ(env_name(*find("cache_ttl")), "MCCACHE_CACHE_TTL");
    EXPECT_EQ(env_name(*find("packet_mtu")), "MCCACHE_PACKET_MTU");
    EXPECT_EQ(suggest("cache_tll", false), "cache_ttl");
    EXPECT_EQ(suggest("packet_mut", false), "packet_mtu");
    EXPECT_EQ(suggest("ttl", false), "cache_ttl");  // the section alias outside a section
    EXPECT_EQ(suggest("tll", true), "ttl");
    EXPECT_EQ(suggest("packet_mtu", true), "");  // no cache key is close
    EXPECT_EQ(suggest("completely_unrelated", false), "");
    EXPECT_EQ(find("CACHE_TTL"), find("cache_ttl"));
    EXPECT_EQ(find("ttl"), nullptr);
}

TEST(Schema, CacheNames) {
    std::string why;
    EXPECT_TRUE(valid_cache_name("sessions", &why));
    EXPECT_TRUE(valid_cache_name(std::string(255, 'a'), &why));
    EXPECT_FALSE(valid_cache_name(std::string(256, 'a'), &why));
    EXPECT_FALSE(valid_cache_name("", &why));
    EXPECT_FALSE(valid_cache_name("a.b", &why));
    EXPECT_FALSE(valid_cache_name(std::string_view("a\0b", 3), &why));
}

// ----------------------------------------------------------- value parsing ---

TEST(Parse, Integers) {
    uint64_t v = 0;
    EXPECT_EQ(parse_uint("0", &v), NumStatus::Ok);
    EXPECT_EQ(v, 0u);
    EXPECT_EQ(parse_uint("18446744073709551615", &v), NumStatus::Ok);
    EXPECT_EQ(v, UINT64_MAX);
    EXPECT_EQ(parse_uint("18446744073709551616", &v), NumStatus::Overflow);
    EXPECT_EQ(parse_uint("99999999999999999999999", &v), NumStatus::Overflow);
    for (const char* bad : {"", "+1", "-1", "1 ", " 1", "0x10", "1e3", "12abc", "1.0"})
        EXPECT_EQ(parse_uint(bad, &v), NumStatus::Invalid) << bad;
}

TEST(Parse, Durations) {
    struct Case {
        const char* text;
        uint64_t ms;
    };
    for (Case c : {Case{"0", 0}, {"300", 300'000}, {"300s", 300'000}, {"1500ms", 1500},
                   {"5m", 300'000}, {"1h", 3'600'000}, {"1d", 86'400'000}, {"1.5", 1500},
                   {"0.5s", 500}, {"1.5m", 90'000}, {"30 s", 30'000}, {"2H", 7'200'000},
                   {"007", 7000}, {"0.001", 1}}) {
        uint64_t v = 0;
        EXPECT_EQ(parse_duration_ms(c.text, &v), NumStatus::Ok) << c.text;
        EXPECT_EQ(v, c.ms) << c.text;
    }
    uint64_t v = 0;
    for (const char* bad : {"", "-5", "abc", "5x", "1.5.5", ".5", "5.", "1e3", "s", "5 m s",
                            "1y", "+5"})
        EXPECT_EQ(parse_duration_ms(bad, &v), NumStatus::Invalid) << bad;
    EXPECT_EQ(parse_duration_ms("0.0001", &v), NumStatus::Inexact);
    EXPECT_EQ(parse_duration_ms("1.0005s", &v), NumStatus::Inexact);
    EXPECT_EQ(parse_duration_ms("99999999999999999999", &v), NumStatus::Overflow);
    EXPECT_EQ(parse_duration_ms("300000000000000d", &v), NumStatus::Overflow);
    EXPECT_EQ(parse_duration_ms("18446744073709551615", &v), NumStatus::Overflow);
}

TEST(Parse, Sizes) {
    struct Case {
        const char* text;
        uint64_t bytes;
    };
    for (Case c : {Case{"8388608", 8388608}, {"64KiB", 65536}, {"64K", 65536}, {"64KB", 65536},
                   {"64kb", 65536}, {"8MiB", 8u << 20}, {"8m", 8u << 20}, {"1GiB", 1u << 30},
                   {"1TiB", uint64_t{1} << 40}, {"1.5KiB", 1536}, {"10B", 10}, {"4 KiB", 4096},
                   {"0", 0}}) {
        uint64_t v = 0;
        EXPECT_EQ(parse_size_bytes(c.text, &v), NumStatus::Ok) << c.text;
        EXPECT_EQ(v, c.bytes) << c.text;
    }
    uint64_t v = 0;
    for (const char* bad : {"", "-1", "1KiBx", "KiB", "1 2", "1PiB", "0x10"})
        EXPECT_EQ(parse_size_bytes(bad, &v), NumStatus::Invalid) << bad;
    EXPECT_EQ(parse_size_bytes("0.5B", &v), NumStatus::Inexact);
    EXPECT_EQ(parse_size_bytes("16777216TiB", &v), NumStatus::Overflow);
    EXPECT_EQ(parse_size_bytes("18446744073709551616", &v), NumStatus::Overflow);
}

TEST(Parse, CanonicalFormats) {
    EXPECT_EQ(format_duration(0), "0");
    EXPECT_EQ(format_duration(1500), "1500ms");
    EXPECT_EQ(format_duration(90'000), "90s");
    EXPECT_EQ(format_duration(300'000), "5m");
    EXPECT_EQ(format_duration(86'400'000), "1d");
    EXPECT_EQ(format_size(0), "0");
    EXPECT_EQ(format_size(1000), "1000");
    EXPECT_EQ(format_size(65536), "64KiB");
    EXPECT_EQ(format_size(uint64_t{1} << 40), "1TiB");
    EXPECT_EQ(format_size(1536), "1536");
}

TEST(Parse, AddressesAndPeers) {
    std::string canon;
    EXPECT_EQ(ip_family("127.0.0.1", &canon), AF_INET);
    EXPECT_EQ(ip_family("0:0:0:0:0:0:0:1", &canon), AF_INET6);
    EXPECT_EQ(canon, "::1");
    for (const char* bad : {"", "localhost", "1.2.3", "1.2.3.256", "[::1]", "fe80::1%eth0"})
        EXPECT_EQ(ip_family(bad), 0) << bad;
    EXPECT_TRUE(is_multicast("224.0.0.1"));
    EXPECT_TRUE(is_multicast("239.255.255.255"));
    EXPECT_FALSE(is_multicast("240.0.0.1"));
    EXPECT_TRUE(is_multicast("ff02::1"));
    EXPECT_FALSE(is_multicast("fe80::1"));

    std::vector<Peer> peers;
    std::string why;
    ASSERT_TRUE(parse_peers(" 10.0.0.2:4000, node3.lan:4001,[FD00::3]:4002 ", &peers, &why));
    ASSERT_EQ(peers.size(), 3u);
    EXPECT_EQ(peers[0], (Peer{"10.0.0.2", 4000}));
    EXPECT_EQ(peers[1], (Peer{"node3.lan", 4001}));
    EXPECT_EQ(peers[2], (Peer{"fd00::3", 4002}));
    ASSERT_TRUE(parse_peers("", &peers, &why));
    EXPECT_TRUE(peers.empty());
    for (const char* bad : {"a", "a:0", "a:65536", "a:", "fd00::3:4000", "a:1,,b:2", "a:1,",
                            "1.2.3:4000", "-bad-:1", "[fd00::3]", "[fd00::3:4000", "[1.2.3.4]:1",
                            "a b:1"}) {
        why.clear();
        EXPECT_FALSE(parse_peers(bad, &peers, &why)) << bad;
        EXPECT_FALSE(why.empty()) << bad;
    }
}

TEST(Parse, Key32) {
    std::vector<unsigned char> key;
    std::string why;
    ASSERT_TRUE(decode_key32(kKey32, &key, &why));
    ASSERT_EQ(key.size(), 32u);
    for (size_t i = 0; i < 32; ++i) EXPECT_EQ(key[i], i);
    EXPECT_FALSE(decode_key32(kKey16, &key, &why));
    EXPECT_EQ(why, "decodes to 16 bytes, not 32");
    EXPECT_FALSE(decode_key32("!!!!not base64!!!!", &key, &why));
    EXPECT_EQ(why, "not valid base64");
    EXPECT_FALSE(decode_key32(std::string(200, 'A'), &key, &why));
    EXPECT_NE(why.find("not 32"), std::string::npos);
}

// ----------------------------------------------------------- set and get ---

TEST(Config, DefaultsReadBack) {
    Config c;
    for (const Setting& s : settings()) EXPECT_EQ(text_of(c, s.name), s.default_text) << s.name;
    EXPECT_EQ(text_of(c, "cache_ttl"), "1h");
    EXPECT_EQ(text_of(c, "interface"), "127.0.0.1");
    EXPECT_EQ(text_of(c, "crypto_key"), "");
    EXPECT_EQ(text_of(c, "sessions.cache_ttl"), "1h");
    EXPECT_EQ(text_of(c, "sessions.mode"), "replicate");
}

TEST(Config, SetAndCanonicalText) {
    static const std::string name64(64, 'x');
    const char* kName64 = name64.c_str();
    Config c;
    struct Case {
        const char* key;
        const char* in;
        const char* out;
    };
    for (Case k : {Case{"cache_ttl", "300", "5m"},
                   {"cache_ttl", "0", "0"},
                   {"cache_ttl", "3650d", "3650d"},
                   {"cache_size", "64K", "64KiB"},
                   {"cache_size", "1TiB", "1TiB"},
                   {"cache_max", "1099511627776", "1099511627776"},
                   {"cache_mode", "0", "update"},
                   {"cache_mode", "1", "replicate"},
                   {"cache_mode", "Invalidate", "invalidate"},
                   {"log_level", "WARNING", "warn"},
                   {"log_level", "debug", "debug"},
                   {"log_format", "json", "json"},
                   {"interface", "0:0:0:0:0:0:0:1", "::1"},
                   {"interface", " 10.1.2.3 ", "10.1.2.3"},
                   {"multicast_ip", "239.1.2.3:5000", "239.1.2.3:5000"},
                   {"multicast_ip", "[FF15::1]:4000", "[ff15::1]:4000"},
                   {"multicast_ip", "ff15::1", "ff15::1"},
                   {"peers", "a.lan:1 , 10.0.0.1:2", "a.lan:1,10.0.0.1:2"},
                   {"node_id", "18446744073709551615", "18446744073709551615"},
                   {"store_shards", "0", "0"},
                   {"store_shards", "1024", "1024"},
                   {"daemon_sleep", "0.5", "500ms"},
                   {"cluster_name", kName64, nullptr},
                   {"log_filename", "", ""},
                   {"crypto_key", kKey32, "(set)"},
                   {"crypto_key", "", ""},
                   {"Sessions.ttl", "60", "1m"},
                   {"CACHE_PULSE", "2m", "2m"}}) {
        Status st = c.set(k.key, k.in, Source::Api, "");
        ASSERT_TRUE(st.ok()) << k.key << "=" << k.in << ": " << st.message;
        std::string key = k.key;
        if (key == "Sessions.ttl") key = "Sessions.cache_ttl";
        EXPECT_EQ(text_of(c, key), k.out ? k.out : k.in) << k.key;
    }
    // Cache names are case-sensitive; setting names are not.
    EXPECT_EQ(text_of(c, "sessions.cache_ttl"), "3650d");
    EXPECT_EQ(text_of(c, "Sessions.TTL"), "1m");
}

TEST(Config, CanonicalTextRoundTrips) {
    Config a;
    ASSERT_TRUE(a.set("cache_ttl", "1.5m", Source::Api, "").ok());
    ASSERT_TRUE(a.set("cache_size", "1.5MiB", Source::Api, "").ok());
    ASSERT_TRUE(a.set("multicast_ip", "[ff15::0001]:7", Source::Api, "").ok());
    for (const Setting& s : settings()) {
        if (s.secret) continue;
        Config b;
        std::string text = text_of(a, s.name);
        ASSERT_TRUE(b.set(s.name, text, Source::Api, "").ok()) << s.name << "=" << text;
        EXPECT_EQ(text_of(b, s.name), text) << s.name;
    }
}

TEST(Config, BadValuesNameKeySourceAndRange) {
    Config c;
    auto err = [&](const char* key, const char* value) {
        Status st = c.set(key, value, Source::Api, "");
        EXPECT_EQ(st.code, MCCACHE_ECONFIG) << key << "=" << value;
        return st.message;
    };
    EXPECT_EQ(err("packet_mtu", "70000"), "packet_mtu: value 70000 from api is out of range 0 or [576, 65507]");
    EXPECT_EQ(err("packet_mtu", "575"), "packet_mtu: value 575 from api is out of range 0 or [576, 65507]");
    EXPECT_EQ(err("packet_mtu", "99999999999999999999999"),
              "packet_mtu: value 99999999999999999999999 from api is out of range 0 or [576, 65507]");
    // 0 is the one value below the range: the interface's MTU.
    EXPECT_TRUE(c.set("packet_mtu", "0", Source::Api, "").ok());
    EXPECT_EQ(err("packet_mtu", "1"), "packet_mtu: value 1 from api is out of range 0 or [576, 65507]");
    EXPECT_EQ(err("cache_ttl", "abc"),
              "cache_ttl: invalid value \"abc\" from api: expected a duration from 0 to 3650d "
              "(e.g. 300, 30s, 5m)");
    EXPECT_EQ(err("cache_ttl", "-5"),
              "cache_ttl: invalid value \"-5\" from api: negative; expected a duration from 0 "
              "to 3650d (e.g. 300, 30s, 5m)");
    EXPECT_EQ(err("cache_ttl", "3651d"),
              "cache_ttl: value 3651d from api is out of range [0, 3650d]");
    EXPECT_EQ(err("daemon_sleep", "0.0001"),
              "daemon_sleep: invalid value \"0.0001\" from api: not a whole number of "
              "milliseconds; expected a duration from 10ms to 1m (e.g. 300, 30s, 5m)");
    EXPECT_EQ(err("cache_size", "1KiB"),
              "cache_size: value 1KiB from api is out of range [4KiB, 1TiB]");
    EXPECT_EQ(err("sessions.cache_size", "lots"),
              "sessions.cache_size: invalid value \"lots\" from api: expected a size from 4KiB "
              "to 1TiB (e.g. 65536, 64KiB, 8MiB)");
    EXPECT_EQ(err("sessions.max_entries", "0"),
              "sessions.cache_max: value 0 from api is out of range [1, 1099511627776]");
    EXPECT_EQ(err("log_level", "loud"),
              "log_level: invalid value \"loud\" from api: expected one of error, warn, "
              "warning, info, debug");
    EXPECT_EQ(err("store_shards", "3"),
              "store_shards: invalid value \"3\" from api: not a power of two; expected 0 "
              "(automatic) or a power of two from 1 to 1024");
    EXPECT_EQ(err("store_shards", "2048"),
              "store_shards: value 2048 from api is out of range 0 or a power of two in [1, 1024]");
    EXPECT_NE(err("multicast_ip", "10.0.0.1").find("10.0.0.1 is not a multicast address"),
              std::string::npos);
    EXPECT_NE(err("multicast_ip", "239.1.1.1:0").find("port \"0\" is not in [1, 65535]"),
              std::string::npos);
    EXPECT_NE(err("multicast_ip", "239.1.1.1:").find("the port is empty"), std::string::npos);
    EXPECT_NE(err("multicast_ip", "[ff15::1").find("']' is missing"), std::string::npos);
    EXPECT_NE(err("interface", "239.1.1.1").find("a multicast address is not an interface"),
              std::string::npos);
    EXPECT_NE(err("interface", "localhost").find("expected an IPv4 or IPv6 address literal"),
              std::string::npos);
    EXPECT_NE(err("peers", "a:1,b").find("\"b\" has no port"), std::string::npos);
    EXPECT_NE(err("cluster_name", "").find("0 bytes long; expected text of 1 to 64 bytes"),
              std::string::npos);
    EXPECT_NE(err("cluster_name", std::string(65, 'x').c_str()).find("65 bytes long"),
              std::string::npos);
    EXPECT_NE(err("cluster_name", "a\tb").find("\"a\\x09b\" from api: contains a control character"),
              std::string::npos);
    EXPECT_NE(err("node_id", "-1").find("expected an integer from 0 to 18446744073709551615"),
              std::string::npos);
    // Nothing of the above changed anything.
    for (const Setting& s : settings()) EXPECT_EQ(text_of(c, s.name), s.default_text);
}

TEST(Config, SecretsAreNeverEchoed) {
    Config c;
    Status st = c.set("crypto_key", kKey16, Source::Env, "env:MCCACHE_CRYPTO_KEY");
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message,
              "crypto_key: invalid value (hidden) from env:MCCACHE_CRYPTO_KEY: decodes to 16 "
              "bytes, not 32; expected base64 of exactly 32 bytes, or empty for no encryption "
              "(e.g. the output of: openssl rand -base64 32)");
    st = c.set("crypto_key", "not*base64", Source::Api, "");
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_NE(st.message.find("not valid base64"), std::string::npos);
    EXPECT_EQ(st.message.find("not*base64"), std::string::npos);

    ASSERT_TRUE(c.set("crypto_key", kKey32, Source::Api, "").ok());
    EXPECT_EQ(text_of(c, "crypto_key"), "(set)");
    EXPECT_EQ(c.to_json().find(kKey32), std::string::npos);
    EXPECT_EQ(c.to_json().find("AAECAwQF"), std::string::npos);
    NodeSettings n;
    ASSERT_TRUE(c.resolve(&n).ok());
    EXPECT_EQ(n.crypto_key_b64, kKey32);
    ASSERT_EQ(n.crypto_key.size(), 32u);
    EXPECT_EQ(n.crypto_key[31], 31);
}

TEST(Config, KeyForms) {
    Config c;
    std::string out;
    Status st = c.set("cache_tll", "1", Source::Api, "");
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message, "unknown key \"cache_tll\" from api (did you mean cache_ttl?)");
    st = c.set("ttl", "1", Source::Api, "");
    EXPECT_EQ(st.message, "unknown key \"ttl\" from api (did you mean cache_ttl?)");
    st = c.set("sessions.packet_mtu", "1500", Source::Api, "");
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message,
              "\"sessions.packet_mtu\" from api: packet_mtu is a node setting; it cannot be set "
              "per cache");
    st = c.set("sessions.tll", "1", Source::Api, "");
    EXPECT_EQ(st.message, "unknown key \"sessions.tll\" from api");
    st = c.set(".cache_ttl", "1", Source::Api, "");
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_NE(st.message.find("invalid cache name \"\""), std::string::npos);
    st = c.set(std::string(256, 'n') + ".cache_ttl", "1", Source::Api, "");
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_NE(st.message.find("1 to 255 bytes"), std::string::npos);
    EXPECT_EQ(c.set("a.b.cache_ttl", "1", Source::Api, "").code, MCCACHE_ECONFIG);
    EXPECT_EQ(c.set("", "1", Source::Api, "").code, MCCACHE_ECONFIG);
    ASSERT_TRUE(c.set(std::string(255, 'n') + ".cache_ttl", "1", Source::Api, "").ok());

    st = c.get_text("nope", &out);
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message, "unknown key \"nope\"");
    EXPECT_EQ(c.get_text("x.interface", &out).code, MCCACHE_ECONFIG);
}

// ------------------------------------------------------------- precedence ---

class Precedence : public TempDir {};

TEST_F(Precedence, HigherSourceWinsWhateverTheOrder) {
    std::string ini = write("a.ini", "[mccache]\npacket_mtu = 1000\ncache_ttl = 10\n"
                                     "multicast_hops = 3\n");
    Env env{"MCCACHE_PACKET_MTU=1100", "MCCACHE_CACHE_TTL=20"};

    Config fwd;  // file, then env, then api
    ASSERT_TRUE(fwd.load_file(ini).ok());
    ASSERT_TRUE(fwd.load_env(env.get()).ok());
    ASSERT_TRUE(fwd.set("packet_mtu", "1200", Source::Api, "").ok());

    Config rev;  // api, then env, then file
    ASSERT_TRUE(rev.set("packet_mtu", "1200", Source::Api, "").ok());
    ASSERT_TRUE(rev.load_env(env.get()).ok());
    ASSERT_TRUE(rev.load_file(ini).ok());

    Config mid;  // env, then api, then file
    ASSERT_TRUE(mid.load_env(env.get()).ok());
    ASSERT_TRUE(mid.set("packet_mtu", "1200", Source::Api, "").ok());
    ASSERT_TRUE(mid.load_file(ini).ok());

    for (Config* c : {&fwd, &rev, &mid}) {
        EXPECT_EQ(text_of(*c, "packet_mtu"), "1200");
        EXPECT_EQ(text_of(*c, "cache_ttl"), "20s");
        EXPECT_EQ(text_of(*c, "multicast_hops"), "3");
        EXPECT_EQ(text_of(*c, "cluster_name"), "mccache");
        EXPECT_EQ(c->to_json(), fwd.to_json());
    }
}

TEST_F(Precedence, SameSourceLaterWins) {
    Config c;
    ASSERT_TRUE(c.load_file(write("1.ini", "[mccache]\ncache_ttl = 10\nmulticast_hops = 2\n")).ok());
    ASSERT_TRUE(c.load_file(write("2.ini", "[mccache]\ncache_ttl = 30\n")).ok());
    EXPECT_EQ(text_of(c, "cache_ttl"), "30s");
    EXPECT_EQ(text_of(c, "multicast_hops"), "2");
    ASSERT_TRUE(c.set("cache_ttl", "1", Source::Api, "").ok());
    ASSERT_TRUE(c.set("cache_ttl", "2", Source::Api, "").ok());
    EXPECT_EQ(text_of(c, "cache_ttl"), "2s");
    // An explicit lower source is still validated, and ignored when shadowed.
    EXPECT_EQ(c.set("cache_ttl", "junk", Source::File, "file:x:1").code, MCCACHE_ECONFIG);
    ASSERT_TRUE(c.set("cache_ttl", "7", Source::File, "file:x:1").ok());
    EXPECT_EQ(text_of(c, "cache_ttl"), "2s");
}

TEST_F(Precedence, PerCacheValueBeatsTheDefaultForAllCaches) {
    Config c;
    ASSERT_TRUE(c.load_file(write("a.ini", "[sessions]\nttl = 60\n")).ok());
    Env env{"MCCACHE_CACHE_TTL=300"};
    ASSERT_TRUE(c.load_env(env.get()).ok());
    EXPECT_EQ(text_of(c, "sessions.cache_ttl"), "1m");
    EXPECT_EQ(text_of(c, "other.cache_ttl"), "5m");
    ASSERT_TRUE(c.set("sessions.ttl", "90", Source::Api, "").ok());
    EXPECT_EQ(text_of(c, "sessions.cache_ttl"), "90s");
}

// -------------------------------------------------------------------- INI ---

class Ini : public TempDir {};

TEST_F(Ini, NodeAndCacheSections) {
    std::string path = write("full.ini",
                             "; comment\n"
                             "# another comment\n"
                             "[mccache]\n"
                             "interface = 127.0.0.2\n"
                             "cache_ttl = 10m ; inline comment\n"
                             "cache_mode = invalidate\n"
                             "Packet_MTU = 9000\n"
                             "\n"
                             "[sessions]\n"
                             "ttl = 30\n"
                             "max_entries = 1000\n"
                             "max_bytes = 1MiB\n"
                             "mode = update\n"
                             "\r\n"
                             "[ users ]\r\n"
                             "cache_size = 128MiB\r\n"
                             "[McCache]\n"
                             "node_id = 42\n");
    Config c;
    Status st = c.load_file(path);
    ASSERT_TRUE(st.ok()) << st.message;
    EXPECT_EQ(text_of(c, "interface"), "127.0.0.2");
    EXPECT_EQ(text_of(c, "packet_mtu"), "9000");
    EXPECT_EQ(text_of(c, "node_id"), "42");
    EXPECT_EQ(text_of(c, "cache_ttl"), "10m");
    EXPECT_EQ(text_of(c, "sessions.cache_ttl"), "30s");
    EXPECT_EQ(text_of(c, "sessions.cache_max"), "1000");
    EXPECT_EQ(text_of(c, "sessions.cache_size"), "1MiB");
    EXPECT_EQ(text_of(c, "sessions.cache_mode"), "update");
    EXPECT_EQ(text_of(c, "users.cache_size"), "128MiB");
    EXPECT_EQ(text_of(c, "users.cache_ttl"), "10m");  // inherited
    EXPECT_EQ(text_of(c, "users.cache_mode"), "invalidate");

    NodeSettings n;
    ASSERT_TRUE(c.resolve(&n).ok());
    ASSERT_EQ(n.caches.size(), 2u);
    const CacheSettings& s = n.for_cache("sessions");
    EXPECT_EQ(s.ttl_ms, 30'000);
    EXPECT_EQ(s.max_entries, 1000u);
    EXPECT_EQ(s.max_bytes, 1u << 20);
    EXPECT_EQ(s.mode, MCCACHE_MODE_UPDATE);
    const CacheSettings& u = n.for_cache("users");
    EXPECT_EQ(u.ttl_ms, 600'000);
    EXPECT_EQ(u.max_bytes, 128u << 20);
    EXPECT_EQ(u.mode, MCCACHE_MODE_INVALIDATE);
    const CacheSettings& other = n.for_cache("unknown");
    EXPECT_EQ(&other, &n.cache_defaults);
    EXPECT_EQ(other.ttl_ms, 600'000);
    EXPECT_EQ(other.max_entries, 65536u);
}

TEST_F(Ini, BadValueNamesFileAndLine) {
    std::string path = write("bad.ini", "[mccache]\n\ncache_ttl = abc\n");
    Config c;
    Status st = c.load_file(path);
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message, "cache_ttl: invalid value \"abc\" from " + path +
                              ":3: expected a duration from 0 to 3650d (e.g. 300, 30s, 5m)");
    path = write("bad2.ini", "[mccache]\n[sessions]\nmax_bytes = 1KiB\n");
    st = c.load_file(path);
    EXPECT_EQ(st.message, "sessions.cache_size: value 1KiB from " + path +
                              ":3 is out of range [4KiB, 1TiB]");
}

TEST_F(Ini, UnknownKeyWithSuggestion) {
    std::string path = write("u.ini", "[mccache]\ncache_tll = 5\n");
    Config c;
    Status st = c.load_file(path);
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message, "unknown key \"cache_tll\" at " + path + ":2 (did you mean cache_ttl?)");

    path = write("u2.ini", "[sessions]\n\nmax_entires = 5\n");
    st = c.load_file(path);
    EXPECT_EQ(st.message,
              "unknown key \"max_entires\" at " + path + ":3 (did you mean max_entries?)");

    path = write("u3.ini", "[mccache]\nttl = 5\n");
    st = c.load_file(path);
    EXPECT_EQ(st.message, "unknown key \"ttl\" at " + path + ":2 (did you mean cache_ttl?)");
}

TEST_F(Ini, NodeKeyInCacheSection) {
    std::string path = write("n.ini", "[sessions]\nttl = 5\npacket_mtu = 1500\n");
    Config c;
    Status st = c.load_file(path);
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message, "packet_mtu at " + path +
                              ":3 is a node setting inside cache section [sessions]; move it "
                              "to [mccache]");
    EXPECT_EQ(text_of(c, "sessions.cache_ttl"), "1h");  // nothing applied
}

TEST_F(Ini, SyntaxErrors) {
    Config c;
    std::string path = write("s.ini", "[mccache]\ncache_ttl = 5\n  garbage line\n");
    Status st = c.load_file(path);
    // An indented line continues the previous value in inih: cache_ttl is "set twice".
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_NE(st.message.find(path + ":3"), std::string::npos) << st.message;

    path = write("s2.ini", "[mccache]\ncache_ttl = 5\ngarbage line\n");
    st = c.load_file(path);
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message, "syntax error at " + path +
                              ":3: \"garbage line\" is neither \"[section]\" nor \"key = value\"");

    path = write("s3.ini", "[mccache\ncache_ttl = 5\n");
    st = c.load_file(path);
    EXPECT_EQ(st.message.rfind("syntax error at " + path + ":1: \"[mccache\"", 0), 0u)
        << st.message;

    path = write("s4.ini", "cache_ttl = 5\n");
    st = c.load_file(path);
    EXPECT_EQ(st.message, "key \"cache_ttl\" at " + path +
                              ":1 is outside any section; put node settings under [mccache]");

    path = write("s5.ini", "[mccache]\n= 5\n");
    st = c.load_file(path);
    EXPECT_EQ(st.message, "syntax error at " + path + ":2: a key is missing before '='");

    path = write("s6.ini", "[mccache]\ncache_ttl = 5\ncache_ttl = 6\n");
    st = c.load_file(path);
    EXPECT_EQ(st.message, "cache_ttl at " + path +
                              ":3 is already set at line 2 (only peers may repeat or continue "
                              "on an indented line)");

    path = write("s7.ini", "[a.b]\nttl = 5\n");
    st = c.load_file(path);
    EXPECT_EQ(st.message, "invalid cache section [a.b] at " + path +
                              ":2: a cache name must not contain '.'");

    path = write("s8.ini", "[" + std::string(60, 'c') + "]\nttl = 5\n");
    st = c.load_file(path);
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_NE(st.message.find("section name longer than 49 bytes at " + path + ":1"),
              std::string::npos)
        << st.message;

    path = write("s9.ini", "[mccache]\nlog_filename = " + std::string(400, 'f') + "\n");
    st = c.load_file(path);
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_NE(st.message.find("line too long at " + path + ":2"), std::string::npos)
        << st.message;

    path = write("s10.ini", std::string("[mccache]\ncache_ttl = 5\0junk\n", 27));
    st = c.load_file(path);
    EXPECT_EQ(st.message, "NUL byte at " + path + ":2");

    // Several errors: the first by line is reported, and the rest counted.
    path = write("s11.ini", "[mccache]\npacket_mtu = 1\nbogus\ncache_ttl = x\n");
    st = c.load_file(path);
    EXPECT_EQ(st.message.rfind("packet_mtu: value 1 from " + path + ":2", 0), 0u) << st.message;
    EXPECT_NE(st.message.find("(and 2 more errors in " + path + ")"), std::string::npos)
        << st.message;

    for (const Setting& s : settings()) EXPECT_EQ(text_of(c, s.name), s.default_text);
}

TEST_F(Ini, PeersSpanSeveralLines) {
    std::string path = write("p.ini",
                             "[mccache]\n"
                             "peers = 10.0.0.1:4000, 10.0.0.2:4000\n"
                             "peers = node3.lan:4000\n"
                             "  [fd00::4]:4000\n");
    Config c;
    Status st = c.load_file(path);
    ASSERT_TRUE(st.ok()) << st.message;
    EXPECT_EQ(text_of(c, "peers"), "10.0.0.1:4000,10.0.0.2:4000,node3.lan:4000,[fd00::4]:4000");
    NodeSettings n;
    ASSERT_TRUE(c.resolve(&n).ok());
    ASSERT_EQ(n.peer_list.size(), 4u);
    EXPECT_EQ(n.peer_list[3], (Peer{"fd00::4", 4000}));
}

TEST_F(Ini, AllOrNothing) {
    std::string path = write("half.ini",
                             "[mccache]\npacket_mtu = 9000\n[sessions]\nttl = 5\n"
                             "[mccache]\nmulticast_hops = 300\n");
    Config c;
    std::string before = c.to_json();
    EXPECT_EQ(c.load_file(path).code, MCCACHE_ECONFIG);
    EXPECT_EQ(c.to_json(), before);
    EXPECT_TRUE(c.cache_names().empty());
}

TEST_F(Ini, UnreadableFiles) {
    Config c;
    Status st = c.load_file(dir_ + "/missing.ini");
    EXPECT_EQ(st.code, MCCACHE_EIO);
    EXPECT_EQ(st.message, "cannot read config file \"" + dir_ +
                              "/missing.ini\": No such file or directory");
    st = c.load_file(dir_);
    EXPECT_EQ(st.code, MCCACHE_EIO) << st.message;
    EXPECT_NE(st.message.find("Is a directory"), std::string::npos) << st.message;
    if (geteuid() != 0) {  // root reads anything
        std::string path = write("private.ini", "[mccache]\n");
        chmod(path.c_str(), 0);
        EXPECT_EQ(c.load_file(path).code, MCCACHE_EIO);
    }
    // An empty file is a valid, empty configuration.
    EXPECT_TRUE(c.load_file(write("empty.ini", "")).ok());
}

// An endless file (a device, a FIFO that never ends a line, a runaway
// generator) used to never return while memory grew about 1 GiB/s.
TEST_F(Ini, EndlessAndHugeFilesAreErrorsNotHangs) {
    Config c;
    auto t0 = std::chrono::steady_clock::now();
    Status st = c.load_file("/dev/zero");
    EXPECT_EQ(st.code, MCCACHE_ECONFIG) << st.message;
    EXPECT_NE(st.message.find("/dev/zero:1"), std::string::npos) << st.message;
    // A line that never ends, with no NUL in it: a FIFO fed without end.
    const std::string fifo = dir_ + "/endless.ini";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    std::thread writer([&] {
        int fd = ::open(fifo.c_str(), O_WRONLY);
        if (fd < 0) return;
        std::string chunk(4096, 'x');
        while (::write(fd, chunk.data(), chunk.size()) > 0) {
        }
        ::close(fd);  // the reader went away (EPIPE)
    });
    signal(SIGPIPE, SIG_IGN);
    st = c.load_file(fifo);
    writer.join();
    EXPECT_EQ(st.code, MCCACHE_ECONFIG) << st.message;
    EXPECT_NE(st.message.find("line too long at " + fifo + ":1"), std::string::npos) << st.message;
    // Short lines, but far too many of them: bounded by size, naming the line.
    std::string big = "[mccache]\n";
    while (big.size() <= (1u << 20)) big += "; a comment line of no consequence at all\n";
    st = c.load_file(write("huge.ini", big));
    EXPECT_EQ(st.code, MCCACHE_ECONFIG) << st.message;
    EXPECT_NE(st.message.find("larger than 1048576 bytes"), std::string::npos) << st.message;
    EXPECT_NE(st.message.find("huge.ini"), std::string::npos) << st.message;
    // Neither read on: a generous bound for two refusals of a few bytes each.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
    // And nothing changed.
    EXPECT_EQ(text_of(c, "cache_ttl"), text_of(Config(), "cache_ttl"));
}

// -------------------------------------------------------------------- env ---

TEST(EnvLoad, CustomArray) {
    Env env{"PATH=/usr/bin",
            "MCCACHE_CACHE_TTL=900",
            "MCCACHE_PACKET_MTU=1400",
            "MCCACHE_CRYPTO_KEY=" + std::string(kKey32),
            "MCCACHE_MULTICAST_IP=239.1.1.1:5000",
            "MCCACHE_LOG_FORMAT=json",
            "MCCACHE_CONGESTION=25",
            "MCCACHE_LOG_MSGFMT=x",
            "MCCACHE_cache_max=5",
            "NOEQUALS",
            "MCCACHE_NOEQUALS"};
    Config c;
    Status st = c.load_env(env.get());
    ASSERT_TRUE(st.ok()) << st.message;
    EXPECT_EQ(text_of(c, "cache_ttl"), "15m");
    EXPECT_EQ(text_of(c, "packet_mtu"), "1400");
    EXPECT_EQ(text_of(c, "crypto_key"), "(set)");
    EXPECT_EQ(text_of(c, "log_format"), "json");
    EXPECT_EQ(text_of(c, "cache_max"), "65536");
    EXPECT_EQ(c.ignored_env(),
              (std::vector<std::string>{"MCCACHE_CONGESTION", "MCCACHE_LOG_MSGFMT",
                                        "MCCACHE_cache_max"}));
    NodeSettings n;
    ASSERT_TRUE(c.resolve(&n).ok());
    EXPECT_EQ(n.multicast_group, "239.1.1.1");
    EXPECT_EQ(n.multicast_port, 5000);
    EXPECT_EQ(n.log_format, 1);
    EXPECT_EQ(n.cache_defaults.ttl_ms, 900'000);
}

TEST(EnvLoad, McCacheAliases) {
    Env aliases{"MCCACHE_TTL=900", "MCCACHE_MTU=1400"};
    Config c;
    ASSERT_TRUE(c.load_env(aliases.get()).ok());
    EXPECT_EQ(text_of(c, "cache_ttl"), "15m");
    EXPECT_EQ(text_of(c, "packet_mtu"), "1400");
    EXPECT_NE(c.to_json().find("\"source\":\"env:MCCACHE_TTL\""), std::string::npos);

    // The canonical name wins over the alias in either order; first occurrence wins otherwise.
    Env both{"MCCACHE_TTL=1", "MCCACHE_CACHE_TTL=2", "MCCACHE_MTU=1500", "MCCACHE_PACKET_MTU=1600",
             "MCCACHE_PACKET_MTU=1700"};
    Config d;
    ASSERT_TRUE(d.load_env(both.get()).ok());
    EXPECT_EQ(text_of(d, "cache_ttl"), "2s");
    EXPECT_EQ(text_of(d, "packet_mtu"), "1600");
}

TEST(EnvLoad, ErrorsNameTheVariableAndChangeNothing) {
    Env env{"MCCACHE_CACHE_TTL=900", "MCCACHE_PACKET_MTU=70000", "MCCACHE_LOG_LEVEL=loud"};
    Config c;
    Status st = c.load_env(env.get());
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message,
              "packet_mtu: value 70000 from env:MCCACHE_PACKET_MTU is out of range 0 or [576, 65507] "
              "(and 1 more invalid variables)");
    EXPECT_EQ(text_of(c, "cache_ttl"), "1h");

    Env alias{"MCCACHE_MTU=1"};
    st = c.load_env(alias.get());
    EXPECT_EQ(st.message, "packet_mtu: value 1 from env:MCCACHE_MTU is out of range 0 or [576, 65507]");
    EXPECT_EQ(c.load_env(nullptr).code, MCCACHE_EINVAL);

    Env empty{"MCCACHE_CACHE_MAX="};
    st = c.load_env(empty.get());
    EXPECT_EQ(st.message,
              "cache_max: invalid value \"\" from env:MCCACHE_CACHE_MAX: expected an integer "
              "from 1 to 1099511627776");
}

// ---------------------------------------------------------------- resolve ---

TEST(Resolve, DefaultsTyped) {
    Config c;
    NodeSettings n;
    ASSERT_TRUE(c.resolve(&n).ok());
    EXPECT_EQ(n.interface_addr, "127.0.0.1");
    EXPECT_EQ(n.node_id, 0u);
    EXPECT_EQ(n.cluster_name, "mccache");
    EXPECT_EQ(n.multicast_group, "239.255.42.42");
    EXPECT_EQ(n.multicast_port, 4000);
    EXPECT_EQ(n.multicast_hops, 1);
    EXPECT_EQ(n.peers, "");
    EXPECT_TRUE(n.peer_list.empty());
    EXPECT_EQ(n.packet_mtu, 0u);  // the interface's
    EXPECT_EQ(n.crypto_key_b64, "");
    EXPECT_TRUE(n.crypto_key.empty());
    EXPECT_EQ(n.pulse_ms, 30'000);
    EXPECT_EQ(n.callback_win_ms, 0);
    EXPECT_EQ(n.housekeeper_ms, 1000);
    EXPECT_EQ(n.tombstone_ttl_ms, 600'000);
    EXPECT_EQ(n.log_filename, "");
    EXPECT_EQ(n.log_format, 0);
    EXPECT_EQ(n.log_level, MCCACHE_LOG_WARN);
    EXPECT_EQ(n.max_key_size, 4096u);
    EXPECT_EQ(n.max_value_size, 1u << 20);
    EXPECT_EQ(n.event_queue_max, 65536u);
    EXPECT_EQ(n.store_shards, 0u);
    EXPECT_EQ(n.cache_defaults.ttl_ms, 3'600'000);
    EXPECT_EQ(n.cache_defaults.max_entries, 65536u);
    EXPECT_EQ(n.cache_defaults.max_bytes, 64u << 20);
    EXPECT_EQ(n.cache_defaults.mode, MCCACHE_MODE_REPLICATE);
    EXPECT_TRUE(n.caches.empty());
}

TEST(Resolve, MulticastPortFromGroupOrSetting) {
    auto port_of = [](Config& c) {
        NodeSettings n;
        Status st = c.resolve(&n);
        EXPECT_TRUE(st.ok()) << st.message;
        return n.multicast_port;
    };
    Config a;  // the group's port beats a weaker multicast_port
    ASSERT_TRUE(a.set("multicast_ip", "239.1.1.1:5000", Source::Env, "").ok());
    EXPECT_EQ(port_of(a), 5000);
    ASSERT_TRUE(a.set("multicast_port", "6000", Source::File, "").ok());
    EXPECT_EQ(port_of(a), 5000);
    ASSERT_TRUE(a.set("multicast_port", "7000", Source::Api, "").ok());
    EXPECT_EQ(port_of(a), 7000);

    Config b;  // the same source naming two ports is ambiguous
    ASSERT_TRUE(b.set("multicast_ip", "239.1.1.1:5000", Source::Api, "").ok());
    ASSERT_TRUE(b.set("multicast_port", "6000", Source::Api, "").ok());
    NodeSettings n;
    Status st = b.resolve(&n);
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message,
              "multicast_ip 239.1.1.1:5000 (from api) and multicast_port 6000 (from api) name "
              "different ports; give the port once");
    ASSERT_TRUE(b.set("multicast_port", "5000", Source::Api, "").ok());
    EXPECT_EQ(port_of(b), 5000);

    Config d;  // no port in the group
    ASSERT_TRUE(d.set("multicast_ip", "239.1.1.1", Source::Api, "").ok());
    ASSERT_TRUE(d.set("multicast_port", "6000", Source::File, "").ok());
    EXPECT_EQ(port_of(d), 6000);
}

TEST(Resolve, CrossFieldChecks) {
    NodeSettings n;
    Config fam;
    ASSERT_TRUE(fam.set("interface", "::1", Source::Api, "").ok());
    Status st = fam.resolve(&n);
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message,
              "interface ::1 (from api) and multicast_ip 239.255.42.42 (default) are of "
              "different address families; use an IPv6 group (e.g. ff15::42)");
    ASSERT_TRUE(fam.set("multicast_ip", "ff15::42", Source::Api, "").ok());
    EXPECT_TRUE(fam.resolve(&n).ok());

    Config tomb;
    ASSERT_TRUE(tomb.set("cache_pulse", "1h", Source::Env, "env:MCCACHE_CACHE_PULSE").ok());
    st = tomb.resolve(&n);
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message.rfind("tombstone_ttl 10m (default) is shorter than cache_pulse 1h "
                               "(from env:MCCACHE_CACHE_PULSE)",
                               0),
              0u)
        << st.message;
    ASSERT_TRUE(tomb.set("tombstone_ttl", "1h", Source::Api, "").ok());
    EXPECT_TRUE(tomb.resolve(&n).ok());

    Config fit;
    ASSERT_TRUE(fit.set("small.cache_size", "512KiB", Source::File, "file:/x.ini:3").ok());
    st = fit.resolve(&n);
    EXPECT_EQ(st.code, MCCACHE_ECONFIG);
    EXPECT_EQ(st.message,
              "cache_size 512KiB of cache \"small\" (from /x.ini:3) is smaller than "
              "max_value_size 1MiB (default): a value of the largest size could never be "
              "stored; raise cache_size or lower max_value_size");
    ASSERT_TRUE(fit.set("max_value_size", "256KiB", Source::Api, "").ok());
    ASSERT_TRUE(fit.resolve(&n).ok());
    EXPECT_EQ(n.for_cache("small").max_bytes, 512u << 10);

    Config fit_default;  // McCache's compose file used exactly 1MiB: that fits
    ASSERT_TRUE(fit_default.set("cache_size", "1048576", Source::Env, "").ok());
    EXPECT_TRUE(fit_default.resolve(&n).ok());
    ASSERT_TRUE(fit_default.set("cache_size", "1048575", Source::Api, "").ok());
    EXPECT_EQ(fit_default.resolve(&n).code, MCCACHE_ECONFIG);
}

// ------------------------------------------------------------------- json ---

class Json : public TempDir {};

TEST_F(Json, ValuesAndSources) {
    std::string path = write("j.ini", "[mccache]\nmulticast_hops = 4\n[sessions]\nttl = 1500ms\n");
    Config c;
    ASSERT_TRUE(c.load_file(path).ok());
    Env env{"MCCACHE_PACKET_MTU=1400"};
    ASSERT_TRUE(c.load_env(env.get()).ok());
    ASSERT_TRUE(c.set("crypto_key", kKey32, Source::Api, "").ok());
    ASSERT_TRUE(c.set("node_id", "18446744073709551615", Source::Api, "").ok());
    ASSERT_TRUE(c.set("users.cache_size", "1TiB", Source::Api, "").ok());

    std::string text = c.to_json();
    EXPECT_NE(text.find("\"value\":18446744073709551615"), std::string::npos) << text;
    cJSON* root = cJSON_Parse(text.c_str());
    ASSERT_NE(root, nullptr) << text;
    cJSON* node = cJSON_GetObjectItemCaseSensitive(root, "node");
    ASSERT_TRUE(cJSON_IsObject(node));
    EXPECT_EQ(cJSON_GetArraySize(node), static_cast<int>(settings().size()));
    auto field = [](cJSON* obj, const char* key, const char* what) {
        cJSON* entry = cJSON_GetObjectItemCaseSensitive(obj, key);
        EXPECT_TRUE(cJSON_IsObject(entry)) << key;
        return cJSON_GetObjectItemCaseSensitive(entry, what);
    };
    auto source = [&](cJSON* obj, const char* key) {
        cJSON* s = field(obj, key, "source");
        return cJSON_IsString(s) ? std::string(s->valuestring) : std::string("?");
    };

    EXPECT_EQ(field(node, "packet_mtu", "value")->valuedouble, 1400);
    EXPECT_EQ(source(node, "packet_mtu"), "env:MCCACHE_PACKET_MTU");
    EXPECT_EQ(field(node, "multicast_hops", "value")->valuedouble, 4);
    EXPECT_EQ(source(node, "multicast_hops"), "file:" + path + ":2");
    EXPECT_EQ(source(node, "cluster_name"), "default");
    EXPECT_STREQ(field(node, "cluster_name", "value")->valuestring, "mccache");
    EXPECT_STREQ(field(node, "crypto_key", "value")->valuestring, "(set)");
    EXPECT_EQ(source(node, "crypto_key"), "api");
    EXPECT_EQ(field(node, "cache_ttl", "value")->valuedouble, 3600);  // seconds
    EXPECT_STREQ(field(node, "cache_mode", "value")->valuestring, "replicate");
    EXPECT_STREQ(field(node, "interface", "value")->valuestring, "127.0.0.1");
    EXPECT_TRUE(cJSON_IsNumber(field(node, "max_value_size", "value")));
    EXPECT_EQ(field(node, "max_value_size", "value")->valuedouble, 1 << 20);

    cJSON* caches = cJSON_GetObjectItemCaseSensitive(root, "caches");
    ASSERT_TRUE(cJSON_IsObject(caches));
    EXPECT_EQ(cJSON_GetArraySize(caches), 2);
    cJSON* sessions = cJSON_GetObjectItemCaseSensitive(caches, "sessions");
    ASSERT_TRUE(cJSON_IsObject(sessions));
    // A cache lists every per-cache setting, whatever the sources gave it.
    int per_cache = 0;
    for (const Setting& s : settings()) per_cache += s.scope == Scope::Cache;
    EXPECT_EQ(per_cache, 12);  // 5, and 7 for loaders and namespaces
    EXPECT_EQ(cJSON_GetArraySize(sessions), per_cache);
    EXPECT_STREQ(field(sessions, "eviction_policy", "value")->valuestring, "tinylfu");
    EXPECT_EQ(source(sessions, "eviction_policy"), "default");
    EXPECT_EQ(field(sessions, "cache_ttl", "value")->valuedouble, 1.5);
    EXPECT_EQ(source(sessions, "cache_ttl"), "file:" + path + ":4");
    EXPECT_EQ(source(sessions, "cache_size"), "default");
    cJSON* users = cJSON_GetObjectItemCaseSensitive(caches, "users");
    EXPECT_EQ(field(users, "cache_size", "value")->valuedouble, 1099511627776.0);
    EXPECT_EQ(source(users, "cache_size"), "api");
    cJSON_Delete(root);
}

TEST(JsonEmpty, DefaultsOnly) {
    Config c;
    cJSON* root = cJSON_Parse(c.to_json().c_str());
    ASSERT_NE(root, nullptr);
    cJSON* caches = cJSON_GetObjectItemCaseSensitive(root, "caches");
    ASSERT_TRUE(cJSON_IsObject(caches));
    EXPECT_EQ(cJSON_GetArraySize(caches), 0);
    cJSON* crypto = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "node"),
                                                     "crypto_key");
    EXPECT_STREQ(cJSON_GetObjectItemCaseSensitive(crypto, "value")->valuestring, "");
    cJSON_Delete(root);
}

}  // namespace
}  // namespace mccache::config
