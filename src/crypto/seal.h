// Sealing of whole datagrams with AES-256-GCM (mbedTLS), on the loop thread.
//
// - A cluster key (32 bytes) never encrypts anything itself: each sender
//   incarnation gets its own subkey, HKDF-SHA256(key, salt = cluster id,
//   info = "mccache/1" || sender || incarnation). Nonces then only need to
//   be unique within one sender incarnation, and they are: the 96-bit nonce
//   is (seq, fragment index, counter), each message numbered once in its
//   counter (multicast control, reliable stream, unicast control).
// - The 48-byte header is the additional authenticated data, so nothing in
//   it (cluster, sender, sequence, lengths) can be changed undetected.
// - A key id byte (derived from the key's hash) says which key sealed a
//   datagram, so two keys can be accepted during a rotation.
#pragma once

#include <mbedtls/gcm.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/status.h"
#include "wire/wire.h"

namespace mccache::crypto {

using Key = std::array<unsigned char, 32>;

// 1..255 from the key's SHA-256; 0 means "not sealed".
uint8_t key_id(const Key& key);

// Overwrites key material in a way the compiler may not elide.
void wipe(Key* key);

// A fresh random key as base64 (44 characters), from the OS's CSPRNG.
Status generate_key_b64(std::string* out);
// Decodes and checks a base64 key.
Status decode_key_b64(std::string_view b64, Key* out, std::string_view name);

class Sealer {
public:
    Sealer(uint64_t cluster_id, uint64_t self, uint64_t incarnation);
    ~Sealer();
    Sealer(const Sealer&) = delete;
    Sealer& operator=(const Sealer&) = delete;

    // `seal` encrypts outgoing datagrams; `accept` is one more key allowed
    // on receive (rotation). An empty seal key turns sealing off.
    Status set_keys(const std::vector<Key>& seal, const std::vector<Key>& accept);
    bool sealing() const { return seal_id_ != 0; }
    bool has_keys() const { return !keys_.empty(); }

    // A sealed datagram: header (SEALED, key id), ciphertext, tag.
    std::string seal(wire::Header h, std::string_view payload);

    enum class Open { Ok, NoKey, AuthFailed, Malformed };
    // Authenticates and decrypts `data`; `h` was decoded from it already.
    Open open(const unsigned char* data, size_t len, const wire::Header& h, std::string* plaintext);

private:
    struct Ctx;
    // The cached subkey context, or one derived now. Derived contexts are
    // cached only when `keep` (our own, or one whose tag verified), so a
    // forger cycling through sender ids cannot evict real members' contexts.
    Ctx* context(uint8_t id, uint64_t sender, uint64_t incarnation, std::unique_ptr<Ctx>* fresh);
    Ctx* keep(uint8_t id, uint64_t sender, uint64_t incarnation, std::unique_ptr<Ctx> ctx);

    uint64_t cluster_id_, self_, incarnation_;
    std::map<uint8_t, Key> keys_;
    uint8_t seal_id_ = 0;
    // Subkey contexts by (key id, sender, incarnation); bounded.
    std::map<std::tuple<uint8_t, uint64_t, uint64_t>, std::unique_ptr<Ctx>> contexts_;
};

}  // namespace mccache::crypto
