// Status: the one error currency inside the engine. A code from mccache.h plus
// a message in words; the api layer turns it into a return value and the
// thread-local last-error text.
#pragma once

#include <string>
#include <utility>

#include "mccache.h"

namespace mccache {

struct Status {
    int code = MCCACHE_OK;
    std::string message;

    Status() = default;
    Status(int c, std::string m) : code(c), message(std::move(m)) {}

    static Status Ok() { return {}; }
    bool ok() const { return code == MCCACHE_OK; }
};

inline Status Error(int code, std::string message) { return Status(code, std::move(message)); }

}  // namespace mccache
