#include "metrics/prometheus.h"

#include <cjson/cJSON.h>

#include <cmath>
#include <stdexcept>
#include <cstdio>
#include <string_view>

namespace mccache::metrics {

namespace {

// Label values escape \, " and newline; HELP text escapes \ and newline.
void append_escaped(std::string* out, std::string_view text, bool quote) {
    for (char c : text) {
        if (c == '\\') out->append("\\\\");
        else if (c == '\n') out->append("\\n");
        else if (c == '"' && quote) out->append("\\\"");
        else out->push_back(c);
    }
}

void append_value(std::string* out, double v) {
    char buf[40];
    if (std::isnan(v)) {
        out->append("NaN");
        return;
    }
    if (std::isinf(v)) {
        out->append(v > 0 ? "+Inf" : "-Inf");
        return;
    }
    // Counts print as integers (exact up to 2^53), ratios with full precision.
    if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, "%.17g", v);
    out->append(buf);
}

std::string label_name(std::string_view path) {
    std::string s(path);
    for (char& c : s)
        if (c == '.') c = '_';
    return s;
}

void header(std::string* out, const std::string& name, std::string_view help, const char* type) {
    out->append("# HELP ").append(name).push_back(' ');
    append_escaped(out, help, false);
    out->append("\n# TYPE ").append(name).push_back(' ');
    out->append(type).push_back('\n');
}

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

void append_labels(std::string* out, const Labels& labels) {
    if (labels.empty()) return;
    out->push_back('{');
    bool first = true;
    for (auto& [k, v] : labels) {
        if (!first) out->push_back(',');
        first = false;
        out->append(k).append("=\"");
        append_escaped(out, v, true);
        out->push_back('"');
    }
    out->push_back('}');
}

// A group's series: (labels, snapshot), in output order.
template <typename E>
using Series = std::vector<std::pair<Labels, const Snapshot<E>*>>;

template <typename E>
void numeric_families(std::string* out, const Series<E>& series) {
    std::span<const Def> table = defs<E>();
    for (size_t i = 0; i < table.size(); ++i) {
        const Def& d = table[i];
        if (d.kind == Kind::Info) continue;
        const std::string name = prometheus_name<E>(d);
        std::string help(d.help);
        if (*d.unit) help += std::string(" Unit: ") + d.unit + ".";
        header(out, name, help, d.kind == Kind::Counter ? "counter" : "gauge");
        for (auto& [labels, snap] : series) {
            out->append(name);
            append_labels(out, labels);
            out->push_back(' ');
            append_value(out, snap->num[i]);
            out->push_back('\n');
        }
    }
}

// The group's Info rows as labels of one gauge of value 1.
template <typename E>
void info_family(std::string* out, const Series<E>& series) {
    std::span<const Def> table = defs<E>();
    std::string help = "Facts about the ";
    help += group_name<E>();
    help += " as labels (the value is always 1):";
    std::vector<std::string> names;
    for (const Def& d : table) {
        if (d.kind != Kind::Info) continue;
        names.push_back(label_name(d.name));
        help += " " + names.back() + ": " + d.help;
    }
    if (names.empty()) return;
    const std::string name = std::string("mccache_") + group_name<E>() + "_info";
    header(out, name, help, "gauge");
    for (auto& [labels, snap] : series) {
        Labels all = labels;
        size_t n = 0;
        for (size_t i = 0; i < table.size(); ++i)
            if (table[i].kind == Kind::Info) all.emplace_back(names[n++], snap->text[i]);
        out->append(name);
        append_labels(out, all);
        out->append(" 1\n");
    }
}

template <typename E>
void group(std::string* out, const Series<E>& series) {
    if (series.empty()) return;
    info_family<E>(out, series);
    numeric_families<E>(out, series);
}

}  // namespace

template <typename E>
std::string prometheus_name(const Def& def) {
    std::string name = std::string("mccache_") + group_name<E>() + "_" + label_name(def.name);
    // The convention for counters; a name that already says "total" keeps one.
    if (def.kind == Kind::Counter && !std::string_view(name).ends_with("_total")) name += "_total";
    return name;
}

template std::string prometheus_name<CacheMetric>(const Def&);
template std::string prometheus_name<NodeMetric>(const Def&);
template std::string prometheus_name<ClusterMetric>(const Def&);

std::string to_prometheus(const std::vector<std::pair<std::string, Reading>>& nodes) {
    Series<NodeMetric> node;
    Series<ClusterMetric> cluster;
    Series<CacheMetric> caches;
    for (auto& [id, r] : nodes) {
        Labels base;
        if (!id.empty()) base.emplace_back("node", id);
        node.emplace_back(base, &r.node);
        if (r.has_cluster) cluster.emplace_back(base, &r.cluster);
        for (auto& [name, snap] : r.caches) {
            Labels l = base;
            l.emplace_back("cache", name);
            caches.emplace_back(std::move(l), &snap);
        }
    }
    std::string out;
    out.reserve(32 * 1024);
    group(&out, node);
    group(&out, cluster);
    group(&out, caches);
    return out;
}

std::string to_prometheus(const Reading& r) {
    // Copies the reading once; the exposition is not a hot path.
    return to_prometheus(std::vector<std::pair<std::string, Reading>>{{"", r}});
}

namespace {

template <typename E>
Snapshot<E> snapshot_from(const cJSON* obj) {
    Snapshot<E> s;
    std::span<const Def> table = defs<E>();
    for (size_t i = 0; i < table.size(); ++i) {
        const cJSON* at = obj;
        std::string_view path = table[i].name;
        for (size_t dot; at && (dot = path.find('.')) != std::string_view::npos; path.remove_prefix(dot + 1))
            at = cJSON_GetObjectItemCaseSensitive(at, std::string(path.substr(0, dot)).c_str());
        const cJSON* v = at ? cJSON_GetObjectItemCaseSensitive(at, std::string(path).c_str()) : nullptr;
        if (table[i].kind == Kind::Info) {
            if (cJSON_IsString(v)) s.text[i] = v->valuestring;
        } else if (cJSON_IsNumber(v)) {
            s.num[i] = v->valuedouble;
        }
    }
    return s;
}

}  // namespace

Reading reading_from_json(const cJSON* doc) {
    const cJSON* node = cJSON_GetObjectItemCaseSensitive(doc, "node");
    if (!cJSON_IsObject(node)) throw std::invalid_argument("no \"node\" object: not a mccache_metrics_json() document");
    Reading r;
    r.node = snapshot_from<NodeMetric>(node);
    const cJSON* caches = cJSON_GetObjectItemCaseSensitive(doc, "caches");
    const cJSON* c = nullptr;
    cJSON_ArrayForEach(c, caches) {
        if (cJSON_IsObject(c) && c->string) r.caches.emplace_back(c->string, snapshot_from<CacheMetric>(c));
    }
    const cJSON* cluster = cJSON_GetObjectItemCaseSensitive(doc, "cluster");
    if (cJSON_IsObject(cluster)) {
        r.has_cluster = true;
        r.cluster = snapshot_from<ClusterMetric>(cluster);
    }
    return r;
}

}  // namespace mccache::metrics
