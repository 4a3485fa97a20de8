// TinyLFU's frequency estimate: a count-min sketch of 4-bit counters, aged
// by halving every counter after a sample of 10 x capacity additions, with a
// doorkeeper in front. The sketch follows Caffeine's FrequencySketch (each
// key's four counters sit in one 64-byte block, so an update touches one
// cache line); the doorkeeper is TinyLFU's (Einziger et al., 2017): a key's
// first sighting in a sample only sets its doorkeeper bits, so keys seen once
// never reach the counters, and it is cleared at every reset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace mccache::store {

class FrequencySketch {
public:
    // Sized for `capacity` entries; allocated on first call only (the
    // policy calls it once the shard is half full, as Caffeine does).
    void ensure_capacity(uint64_t capacity);
    bool initialized() const { return table_ != nullptr; }
    // `h` is a keyed 64-bit hash of the key.
    void increment(uint64_t h);
    int frequency(uint64_t h) const;
    // Starts fetching the line that increment(h) and frequency(h) read.
    void prefetch(uint64_t h) const;
    size_t memory() const;

private:
    void reset();
    bool door_test_and_set(uint64_t h);
    bool door_contains(uint64_t h) const;

    std::unique_ptr<uint64_t[]> table_;
    size_t table_len_ = 0;
    uint32_t block_mask_ = 0;
    std::unique_ptr<uint64_t[]> door_;
    size_t door_words_ = 0;
    uint64_t door_mask_ = 0;
    uint64_t sample_ = 0;
    uint64_t size_ = 0;
};

}  // namespace mccache::store
