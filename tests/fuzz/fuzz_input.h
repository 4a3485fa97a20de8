// Reads typed values off the front of a fuzz input, yielding zeros once it
// runs dry (the harnesses must build with g++ too, so no
// FuzzedDataProvider), and the check that fails a fuzz run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace fuzz {

class Input {
public:
    Input(const uint8_t* data, size_t size) : p_(data), n_(size) {}

    bool empty() const { return pos_ >= n_; }
    size_t remaining() const { return n_ - pos_; }

    uint8_t u8() { return pos_ < n_ ? p_[pos_++] : 0; }
    uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
    uint32_t u32() { return static_cast<uint32_t>(u16()) << 16 | u16(); }
    uint64_t u64() { return static_cast<uint64_t>(u32()) << 32 | u32(); }
    bool flag() { return u8() & 1; }

    // Up to `max` bytes, the length first.
    std::string bytes(size_t max) {
        size_t want = u16() % (max + 1);
        return take(want);
    }
    std::string take(size_t want) {
        if (want > remaining()) want = remaining();
        std::string out(reinterpret_cast<const char*>(p_ + pos_), want);
        pos_ += want;
        return out;
    }
    std::string rest() { return take(remaining()); }

private:
    const uint8_t* p_;
    size_t n_;
    size_t pos_ = 0;
};

// A property that must hold: abort with a message libFuzzer (and the
// standalone replay) report as a crash.
#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                  \
        }                                                                                  \
    } while (0)

}  // namespace fuzz
