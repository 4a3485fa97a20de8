// The Prometheus text exposition format (version 0.0.4) of node readings,
// walked from the one metrics table: one family per table row, HELP and
// TYPE lines from its help text and kind, caches as a `cache` label, Info
// rows as the labels of one `_info` gauge per group. Several readings (the
// members of a cluster) share each family, told apart by a `node` label.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "metrics/metrics.h"

struct cJSON;

namespace mccache::metrics {

// "mccache_<group>_<name>", dots as underscores, "_total" after a counter.
template <typename E>
std::string prometheus_name(const Def& def);

// One node, unlabelled.
std::string to_prometheus(const Reading& r);
// Many nodes: (node label value, reading).
std::string to_prometheus(const std::vector<std::pair<std::string, Reading>>& nodes);

// The reading a mccache_metrics_json() document holds; a metric it lacks
// (an older member) reads 0 or "". Throws std::invalid_argument on a
// document of another shape.
Reading reading_from_json(const cJSON* doc);

}  // namespace mccache::metrics
