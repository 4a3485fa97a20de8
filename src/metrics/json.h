// cJSON helpers for the metrics output: a group rendered as a cJSON object
// to be placed in a larger document, and printing that throws on failure.
#pragma once

#include <string>

#include "metrics/metrics.h"

struct cJSON;

namespace mccache::metrics {

// A new object the caller owns (cJSON_Delete), or throws std::bad_alloc.
template <typename E>
cJSON* to_cjson(const Snapshot<E>& s);

// Compact text of `root`, or throws std::bad_alloc.
std::string print(const cJSON* root);

}  // namespace mccache::metrics
