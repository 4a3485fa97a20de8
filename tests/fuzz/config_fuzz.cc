// Configuration parsing on hostile text: Config::set, load_file (INI via
// inih) and load_env. Besides not crashing:
// - a value that sets reads back (get_text) as text that sets again to the
//   same value (the canonical form promised in docs/CONFIG.md);
// - a load that fails changes nothing (all or nothing);
// - the JSON view of any configuration is valid JSON.
//
// Input: a mode byte, then
//   0: "KEY\nVALUE" for set();  1: an INI file;  2: NUL- or newline-separated
//   environment entries (half the time each gets the MCCACHE_ prefix);
//   3: several "KEY\nVALUE\n" pairs, then resolve().
#include <cjson/cJSON.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/config.h"
#include "fuzz_input.h"

using namespace mccache;

namespace {

std::string json_of(const config::Config& c) {
    std::string j = c.to_json();
    cJSON* doc = cJSON_Parse(j.c_str());
    FUZZ_CHECK(doc != nullptr);
    cJSON_Delete(doc);
    return j;
}

void resolve_any(const config::Config& c) {
    config::NodeSettings s;
    (void)c.resolve(&s);
}

// The JSON of a fresh configuration, computed once (to_json is the slow part).
const std::string& default_json() {
    static const std::string j = json_of(config::Config());
    return j;
}

void set_and_read_back(const std::string& key, const std::string& value) {
    config::Config c;
    if (!c.set(key, value, config::Source::Api, "").ok()) {
        FUZZ_CHECK(json_of(c) == default_json());
        return;
    }
    std::string text;
    FUZZ_CHECK(c.get_text(key, &text).ok());
    if (text != "(set)") {
        config::Config again;
        Status st = again.set(key, text, config::Source::Api, "");
        if (!st.ok()) std::fprintf(stderr, "%s = \"%s\" read back as \"%s\": %s\n", key.c_str(),
                                   value.c_str(), text.c_str(), st.message.c_str());
        FUZZ_CHECK(st.ok());
        std::string text2;
        FUZZ_CHECK(again.get_text(key, &text2).ok());
        FUZZ_CHECK(text2 == text);
    }
    json_of(c);
    resolve_any(c);
}

const std::string& temp_path() {
    static std::string path = [] {
        char tmpl[] = "/tmp/mccache-config-fuzz-XXXXXX";
        int fd = mkstemp(tmpl);
        FUZZ_CHECK(fd >= 0);
        close(fd);
        return std::string(tmpl);
    }();
    return path;
}

void load_file(const std::string& text) {
    FILE* f = std::fopen(temp_path().c_str(), "wb");
    FUZZ_CHECK(f != nullptr);
    FUZZ_CHECK(std::fwrite(text.data(), 1, text.size(), f) == text.size());
    std::fclose(f);
    static const std::string before = [] {
        config::Config d;
        d.set("log_level", "debug", config::Source::Api, "");
        return json_of(d);
    }();
    config::Config c;
    c.set("log_level", "debug", config::Source::Api, "");
    if (!c.load_file(temp_path()).ok()) {
        FUZZ_CHECK(json_of(c) == before);
        return;
    }
    json_of(c);
    resolve_any(c);
}

void load_env(fuzz::Input& in) {
    std::vector<std::string> entries;
    std::string cur;
    bool prefix = in.flag();
    for (char ch : in.rest()) {
        if (ch == '\0' || ch == '\n') {
            entries.push_back((prefix ? "MCCACHE_" : "") + cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    entries.push_back((prefix ? "MCCACHE_" : "") + cur);
    std::vector<char*> envp;
    for (auto& e : entries) envp.push_back(e.data());
    envp.push_back(nullptr);
    config::Config c;
    if (!c.load_env(envp.data()).ok()) {
        FUZZ_CHECK(json_of(c) == default_json());
        return;
    }
    json_of(c);
    resolve_any(c);
}

void several(fuzz::Input& in) {
    config::Config c;
    std::string text = in.rest();
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string key = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        if (nl == std::string::npos) break;
        size_t nl2 = text.find('\n', nl + 1);
        std::string value = text.substr(nl + 1, nl2 == std::string::npos ? std::string::npos : nl2 - nl - 1);
        (void)c.set(key, value, config::Source::Api, "");
        pos = nl2 == std::string::npos ? text.size() : nl2 + 1;
    }
    json_of(c);
    resolve_any(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    fuzz::Input in(data + 1, size - 1);
    switch (data[0] % 4) {
        case 0: {
            std::string all = in.rest();
            size_t nl = all.find('\n');
            if (nl == std::string::npos) return 0;
            set_and_read_back(all.substr(0, nl), all.substr(nl + 1));
            break;
        }
        case 1: load_file(in.rest()); break;
        case 2: load_env(in); break;
        default: several(in); break;
    }
    return 0;
}
