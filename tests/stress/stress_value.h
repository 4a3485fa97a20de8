/*
 * Self-describing values for the stress test: every value names its writer,
 * its write counter, its key and its length, and the rest is a pseudo-random
 * fill derived from those. Any reader can therefore tell a whole, correct
 * value from a truncated, mis-reassembled or misplaced one without knowing
 * who wrote what.
 */
#ifndef STRESS_VALUE_H
#define STRESS_VALUE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <xxhash.h>

#define STRESS_MAGIC 0xA5u
#define STRESS_HEADER_SIZE 16

static inline uint64_t stress_splitmix(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void stress_put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t stress_get_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t stress_key_tag(const void *key, size_t klen) {
    return (uint32_t)XXH3_64bits(key, klen);
}

/* Layout: magic, writer, 2 reserved, counter (le32), key tag (le32),
 * length (le32), then the fill. */
static inline void stress_fill_tail(unsigned char *p, size_t n, uint64_t seed) {
    uint64_t st = seed;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t r = stress_splitmix(&st);
        memcpy(p + i, &r, 8);
    }
    if (i < n) {
        uint64_t r = stress_splitmix(&st);
        memcpy(p + i, &r, n - i);
    }
}

static inline uint64_t stress_seed(uint8_t writer, uint32_t counter, uint32_t tag, size_t len) {
    return ((uint64_t)writer << 56) ^ ((uint64_t)counter << 20) ^ ((uint64_t)tag << 1) ^ len;
}

static inline void stress_value_fill(unsigned char *buf, size_t len, uint8_t writer, uint32_t counter,
                                     const void *key, size_t klen) {
    uint32_t tag = stress_key_tag(key, klen);
    buf[0] = STRESS_MAGIC;
    buf[1] = writer;
    buf[2] = buf[3] = 0;
    stress_put_le32(buf + 4, counter);
    stress_put_le32(buf + 8, tag);
    stress_put_le32(buf + 12, (uint32_t)len);
    stress_fill_tail(buf + STRESS_HEADER_SIZE, len - STRESS_HEADER_SIZE,
                     stress_seed(writer, counter, tag, len));
}

/* NULL if the value is whole and belongs to this key, else why not. */
static inline const char *stress_value_check(const void *data, size_t len, const void *key, size_t klen,
                                             uint8_t *writer, uint32_t *counter) {
    const unsigned char *p = data;
    if (len < STRESS_HEADER_SIZE) return "shorter than the header";
    if (p[0] != STRESS_MAGIC) return "bad magic";
    uint32_t tag = stress_key_tag(key, klen);
    if (writer) *writer = p[1];
    if (counter) *counter = stress_get_le32(p + 4);
    if (stress_get_le32(p + 8) != tag) return "written under another key";
    if (stress_get_le32(p + 12) != len) return "length differs from the written one";
    uint64_t st = stress_seed(p[1], stress_get_le32(p + 4), tag, len);
    size_t i = STRESS_HEADER_SIZE;
    for (; i + 8 <= len; i += 8) {
        uint64_t r = stress_splitmix(&st);
        if (memcmp(p + i, &r, 8) != 0) return "content differs from the written one";
    }
    if (i < len) {
        uint64_t r = stress_splitmix(&st);
        if (memcmp(p + i, &r, len - i) != 0) return "content differs from the written one";
    }
    return NULL;
}

/* The engine's per-entry checksum, recomputed independently from
 * docs/PROTOCOL.md section 3 (little-endian fields, a hash input). */
static inline uint64_t stress_entry_checksum(const void *key, size_t klen, uint64_t hlc, uint64_t node,
                                             uint64_t value_hash) {
    uint64_t f[4] = {XXH3_64bits(key, klen), hlc, node, value_hash};
    unsigned char buf[32];
    for (int k = 0; k < 4; ++k)
        for (int i = 0; i < 8; ++i) buf[8 * k + i] = (unsigned char)(f[k] >> (8 * i));
    return XXH3_64bits(buf, sizeof buf);
}

#endif
