// Config::load_file: INI parsing through inih, staged so that a file with any
// error changes nothing.
#include <ini.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "config/config.h"

namespace mccache::config {
namespace {

// inih copies section names into a fixed buffer of this size and silently
// truncates longer ones; we refuse them instead of opening the wrong cache.
constexpr size_t kInihMaxSection = 50;
// A configuration is a few kilobytes; anything this large is a mistake.
constexpr size_t kMaxFileBytes = 1 << 20;

struct Parse {
    const std::string* path;
    FILE* file = nullptr;
    int lineno = 0;                  // of the line inih is processing
    std::vector<std::string> lines;  // raw, to quote in syntax errors
    int read_errno = 0;
    size_t bytes = 0;                // read so far
    bool stopped = false;            // the reader ended the parse early

    Status first;
    int first_line = 0;
    size_t errors = 0;

    std::vector<Config::Change> changes;
    std::map<std::string, std::pair<size_t, int>> seen;  // slot -> (index in changes, line)

    std::string at(int line) const { return "at " + *path + ":" + std::to_string(line); }
    std::string origin() const { return "file:" + *path + ":" + std::to_string(lineno); }

    void fail(int line, std::string message) {
        if (errors++ == 0 || line < first_line) {
            first = Error(MCCACHE_ECONFIG, std::move(message));
            first_line = line;
        }
    }
};

bool is_node_section(std::string_view section) {
    if (section.size() != kNodeSection.size()) return false;
    for (size_t i = 0; i < section.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(section[i])) != kNodeSection[i]) return false;
    return true;
}

std::string_view strip_eol(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// A section header whose name inih would truncate.
bool long_section(std::string_view line) {
    size_t i = line.find_first_not_of(" \t");
    if (i == std::string_view::npos || line[i] != '[') return false;
    size_t close = line.find(']', i);
    return close != std::string_view::npos && close - i - 1 >= kInihMaxSection;
}

// fgets-style reader that sees whole lines, so we know each line's number and
// text, and can refuse lines inih would split at its buffer size. It never
// reads more than one buffer's worth past a line start, nor more than
// kMaxFileBytes in all: an endless file (/dev/zero, a FIFO that never ends a
// line) is an error, not a hang.
char* read_line(char* str, int num, void* stream) {
    Parse* p = static_cast<Parse*>(stream);
    if (p->stopped) return nullptr;
    const size_t max_line = static_cast<size_t>(num) - 1;  // inih's buffer, less the NUL
    std::string buf;
    int c = 0;
    errno = 0;
    while (buf.size() <= max_line && (c = std::getc(p->file)) != EOF) {
        buf.push_back(static_cast<char>(c));
        if (c == '\n') break;
    }
    if (buf.empty()) {
        if (std::ferror(p->file)) p->read_errno = errno ? errno : EIO;
        p->stopped = true;
        return nullptr;
    }
    ++p->lineno;
    p->bytes += buf.size();
    std::string_view line(buf);
    p->lines.emplace_back(strip_eol(line.substr(0, std::min<size_t>(line.size(), 200))));
    if (p->bytes > kMaxFileBytes) {
        p->fail(p->lineno, "config file " + *p->path + " is larger than " + std::to_string(kMaxFileBytes) +
                               " bytes (stopped at line " + std::to_string(p->lineno) + ")");
        p->stopped = true;
        return nullptr;
    }
    if (line.find('\0') != std::string_view::npos) {
        p->fail(p->lineno, "NUL byte at " + *p->path + ":" + std::to_string(p->lineno));
        p->stopped = true;
        return nullptr;
    }
    if (line.size() > max_line) {
        p->fail(p->lineno, "line too long at " + *p->path + ":" + std::to_string(p->lineno) +
                               ": the INI reader takes at most " + std::to_string(num - 3) +
                               " bytes per line (split peers over several lines)");
        p->stopped = true;
        return nullptr;
    }
    if (long_section(line)) {
        p->fail(p->lineno, "section name longer than " + std::to_string(kInihMaxSection - 1) +
                               " bytes " + p->at(p->lineno) +
                               "; set this cache with mccache_config_set(\"NAME.key\")");
    }
    std::memcpy(str, buf.data(), buf.size());
    str[buf.size()] = '\0';
    return str;
}

void handle(Parse* p, std::string_view section, std::string_view name, std::string_view text) {
    const int line = p->lineno;
    // inih keeps blanks inside brackets; "[ sessions ]" means the cache "sessions".
    while (!section.empty() && (section.front() == ' ' || section.front() == '\t'))
        section.remove_prefix(1);
    while (!section.empty() && (section.back() == ' ' || section.back() == '\t'))
        section.remove_suffix(1);
    if (name.empty()) {
        p->fail(line, "syntax error " + p->at(line) + ": a key is missing before '='");
        return;
    }
    if (section.empty()) {
        p->fail(line, "key " + quote(name) + " " + p->at(line) +
                          " is outside any section; put node settings under [mccache]");
        return;
    }
    std::string cache;
    const Setting* s = nullptr;
    if (is_node_section(section)) {
        s = find(name);
        if (!s) return p->fail(line, unknown_key_message(name, p->at(line), false));
    } else {
        std::string why;
        if (!valid_cache_name(section, &why))
            return p->fail(line, "invalid cache section [" + std::string(section) + "] " +
                                     p->at(line) + ": " + why);
        s = find_cache_key(name);
        if (!s) {
            if (const Setting* node = find(name))
                return p->fail(line, std::string(node->name) + " " + p->at(line) +
                                         " is a node setting inside cache section [" +
                                         std::string(section) + "]; move it to [mccache]");
            return p->fail(line, unknown_key_message(name, p->at(line), true));
        }
        cache = std::string(section);
    }

    std::string origin = p->origin();
    Value v;
    if (Status st = parse_value(*s, text, display_key(cache, *s), origin, &v); !st.ok())
        return p->fail(line, st.message);

    std::string slot = cache + '\0' + s->name;
    auto [it, fresh] = p->seen.try_emplace(slot, p->changes.size(), line);
    if (fresh) {
        p->changes.push_back(Config::Change{std::move(cache), s, std::move(v), std::move(origin)});
        return;
    }
    // Repeated (or indented continuation) peers lines extend the list: one
    // line cannot hold a long list.
    if (s->type == Type::Peers) {
        Value& held = p->changes[it->second.first].value;
        if (!v.str.empty()) held.str += (held.str.empty() ? "" : ",") + v.str;
        return;
    }
    p->fail(line, display_key(cache, *s) + " " + p->at(line) + " is already set at line " +
                      std::to_string(it->second.second) +
                      " (only peers may repeat or continue on an indented line)");
}

int on_entry(void* user, const char* section, const char* name, const char* value) {
    handle(static_cast<Parse*>(user), section, name, value ? value : "");
    return 1;  // errors are ours to report; a 0 would be mistaken for a syntax error
}

}  // namespace

Status Config::load_file(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        return Error(MCCACHE_EIO, "cannot read config file " + quote(path) + ": " +
                                      std::strerror(errno));
    std::unique_ptr<FILE, decltype(&std::fclose)> closer(f, &std::fclose);

    Parse p;
    p.path = &path;
    p.file = f;
    int rc = ini_parse_stream(&read_line, &p, &on_entry, &p);

    if (p.read_errno)
        return Error(MCCACHE_EIO, "cannot read config file " + quote(path) + ": " +
                                      std::strerror(p.read_errno));
    if (rc < 0) return Error(MCCACHE_ENOMEM, "out of memory parsing " + quote(path));
    if (rc > 0) {
        std::string_view raw;
        if (rc <= static_cast<int>(p.lines.size())) raw = p.lines[rc - 1];
        size_t start = raw.find_first_not_of(" \t");
        raw = start == std::string_view::npos ? "" : raw.substr(start);
        p.fail(rc, "syntax error at " + path + ":" + std::to_string(rc) + ": " + quote(raw) +
                       " is neither \"[section]\" nor \"key = value\"");
    }
    if (p.errors > 0) {
        if (p.errors > 1)
            p.first.message += " (and " + std::to_string(p.errors - 1) + " more errors in " +
                               path + ")";
        return p.first;
    }
    for (Change& c : p.changes) apply(std::move(c), Source::File);
    return Status::Ok();
}

}  // namespace mccache::config
