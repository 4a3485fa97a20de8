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

void Logger::set_callback(mccache_log_cb cb, void* opaque, void (*opaque_free)(void*)) {
    std::shared_ptr<Sink> fresh;
    if (cb) {
        fresh = std::make_shared<Sink>();
        fresh->cb = cb;
        fresh->opaque = opaque;
        fresh->opaque_free = opaque_free;
    } else if (opaque_free) {
        opaque_free(opaque);
    }
    std::shared_ptr<Sink> old;
    {
        std::lock_guard<std::mutex> lock(mu_);
        old.swap(sink_);
        sink_ = std::move(fresh);
    }
    // `old` drops here, or on the thread still delivering a line to it.
}

void Logger::log(int level, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void Logger::vlog(int level, const char* fmt, va_list ap) {
    if (!enabled(level)) return;
    char msg[1024];
    std::vsnprintf(msg, sizeof msg, fmt, ap);

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
