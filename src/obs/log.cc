#include "obs/log.h"

#include <cjson/cJSON.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace mccache::obs {

const char* level_name(int level) {
    switch (level) {
        case MCCACHE_LOG_ERROR: return "ERROR";
        case MCCACHE_LOG_WARN: return "WARN";
        case MCCACHE_LOG_INFO: return "INFO";
        default: return "DEBUG";
    }
}

Logger::~Logger() {
    std::shared_ptr<Sink> old;
    {
        std::lock_guard<std::mutex> lock(mu_);
        old.swap(sink_);
        if (file_) std::fclose(file_);
        file_ = nullptr;
    }
}

Status Logger::open(const std::string& path, int level, bool json, uint64_t node_id) {
    std::lock_guard<std::mutex> lock(mu_);
    level_ = level;
    json_ = json;
    node_id_ = node_id;
    if (path.empty()) return Status::Ok();
    FILE* f = std::fopen(path.c_str(), "ae");
    if (!f)
        return Error(MCCACHE_EIO, "log_filename: cannot open \"" + path + "\" for appending: " +
                                      std::strerror(errno));
    std::setvbuf(f, nullptr, _IOLBF, 0);
    if (file_) std::fclose(file_);
    file_ = f;
    return Status::Ok();
}

std::shared_ptr<void> Logger::set_callback(mccache_log_cb cb, void* opaque, void (*opaque_free)(void*)) {
    std::shared_ptr<Sink> fresh;
    if (cb) {
        fresh = std::make_shared<Sink>();
        fresh->cb = cb;
        fresh->opaque = opaque;
        fresh->opaque_free = opaque_free;
    } else if (opaque_free) {
        // No callback to keep: a sink of nothing, so that its opaque_free
        // runs where the caller drops what this returns.
        fresh = std::make_shared<Sink>();
        fresh->opaque = opaque;
        fresh->opaque_free = opaque_free;
        return fresh;
    }
    std::shared_ptr<Sink> old;
    {
        std::lock_guard<std::mutex> lock(mu_);
        old.swap(sink_);
        sink_ = std::move(fresh);
    }
    return old;
}

namespace {

// What a line may carry that came from the network (a cache name, a reason)
// is shown, never obeyed: control characters and bytes that are not UTF-8
// become \xNN, so no datagram can end a line early, forge the next one, or
// make a JSON line invalid.
std::string escape(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    auto hex = [&](unsigned char c) {
        static const char digits[] = "0123456789abcdef";
        out += "\\x";
        out += digits[c >> 4];
        out += digits[c & 15];
    };
    for (size_t i = 0; i < in.size();) {
        const unsigned char c = static_cast<unsigned char>(in[i]);
        if (c < 0x20 || c == 0x7F) {
            hex(c);
            ++i;
            continue;
        }
        if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        bool ok = len && i + len <= in.size() && !(c == 0xC0 || c == 0xC1 || c > 0xF4);
        for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
        if (ok && len == 2 && c == 0xC2 && static_cast<unsigned char>(in[i + 1]) < 0xA0) ok = false;  // C1 controls
        if (ok && len == 3 && c == 0xE0 && static_cast<unsigned char>(in[i + 1]) < 0xA0) ok = false;  // overlong
        if (ok && len == 3 && c == 0xED && static_cast<unsigned char>(in[i + 1]) >= 0xA0) ok = false;  // surrogates
        if (ok && len == 4 && c == 0xF0 && static_cast<unsigned char>(in[i + 1]) < 0x90) ok = false;  // overlong
        if (ok && len == 4 && c == 0xF4 && static_cast<unsigned char>(in[i + 1]) >= 0x90) ok = false;  // > U+10FFFF
        if (!ok) {
            hex(c);
            ++i;
            continue;
        }
        out.append(in.substr(i, len));
        i += len;
    }
    return out;
}

}  // namespace

void Logger::log(int level, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void Logger::vlog(int level, const char* fmt, va_list ap) {
    if (!enabled(level)) return;
    char raw[1024];
    std::vsnprintf(raw, sizeof raw, fmt, ap);
    const std::string text = escape(raw);
    const char* msg = text.c_str();

    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  ts.tv_nsec / 1000000);
    char node[24];
    std::snprintf(node, sizeof node, "%016llx", static_cast<unsigned long long>(node_id_));

    std::shared_ptr<Sink> sink;
    {
        std::lock_guard<std::mutex> lock(mu_);
        sink = sink_;
    }
    if (sink) {
        if (deliver_) {
            auto line = [sink, level, text = std::string(msg)] { sink->cb(level, text.c_str(), sink->opaque); };
            if (deliver_(line) != Delivery::Inline) return;
        }
        sink->cb(level, msg, sink->opaque);
        return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    FILE* out = file_ ? file_ : stderr;
    if (json_) {
        std::unique_ptr<cJSON, decltype(&cJSON_Delete)> o(cJSON_CreateObject(), cJSON_Delete);
        if (!o) return;
        cJSON_AddStringToObject(o.get(), "ts", when);
        cJSON_AddStringToObject(o.get(), "level", level_name(level));
        cJSON_AddStringToObject(o.get(), "node", node);
        cJSON_AddStringToObject(o.get(), "msg", msg);
        char* line = cJSON_PrintUnformatted(o.get());
        if (!line) return;
        std::fprintf(out, "%s\n", line);
        cJSON_free(line);
    } else {
        std::fprintf(out, "%s %-5s mccache[%s] %s\n", when, level_name(level), node, msg);
    }
}

}  // namespace mccache::obs
