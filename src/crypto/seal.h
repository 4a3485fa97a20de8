// Sealing of whole datagrams with AES-256-GCM, on the loop thread (and the
// stream's own Sealer under the cluster's send mutex). The cipher comes from
// the build's backend (aead.h: OpenSSL or mbedTLS); everything on the wire
// is decided here, once for both.
//
// - A cluster key (32 bytes) never encrypts anything itself: each sender
//   incarnation gets its own subkey, HKDF-SHA256(key, salt = cluster id,
//   info = "mccache/1" || sender || incarnation). Nonces then only need to
//   be unique within one sender incarnation, and they are: the 96-bit nonce
//   is (seq, fragment index, counter), each message numbered once in its
//   counter (multicast control, reliable stream, unicast control).
// - The additional authenticated data is the 48-byte header, then the
//   caller's `extra_aad` (empty for every datagram today), so nothing in the
//   header (cluster, sender, sequence, lengths) can be changed undetected.
// - A key id byte (derived from the key's hash) says which key sealed a
//   datagram, so two keys can be accepted during a rotation.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/status.h"
#include "crypto/aead.h"
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
    // Seals and opens with this build's backend (make_aead).
    Sealer(uint64_t cluster_id, uint64_t self, uint64_t incarnation);
    // The same with a given backend (null: this build's): what the tests
    // and benchmarks use to set the backends side by side.
    Sealer(uint64_t cluster_id, uint64_t self, uint64_t incarnation, AeadFactory aead);
    ~Sealer();
    Sealer(const Sealer&) = delete;
    Sealer& operator=(const Sealer&) = delete;

    // `seal` encrypts outgoing datagrams; `accept` is one more key allowed
    // on receive (rotation). An empty seal key turns sealing off. Fails,
    // changing nothing, if two keys share a key id or the crypto library
    // cannot set up the seal key's cipher.
    Status set_keys(const std::vector<Key>& seal, const std::vector<Key>& accept);
    bool sealing() const { return seal_id_ != 0; }
    bool has_keys() const { return !keys_.empty(); }

    // A sealed datagram: header (SEALED, key id), ciphertext, tag; empty if
    // there is no seal key or the payload cannot fit in one datagram.
    //
    // `extra_aad`: bytes both ends know but that are not sent (for instance
    // the destination's address), authenticated after the header. Such a
    // datagram opens only with the same `extra_aad`. Empty, the datagram is
    // byte for byte what it was before the argument existed.
    std::string seal(wire::Header h, std::string_view payload, std::string_view extra_aad = {});
    // The same datagram, written into `out` over what it held. A caller that
    // keeps one buffer (datagrams of one stream are mostly the same size)
    // saves an allocation and a zero fill per datagram: a few µs at 64 KiB,
    // the size of a full loopback datagram. False, and `out` empty, where
    // seal() returns empty.
    bool seal_into(std::string* out, wire::Header h, std::string_view payload, std::string_view extra_aad = {});

    enum class Open { Ok, NoKey, AuthFailed, Malformed };
    // Authenticates and decrypts `data`; `h` was decoded from it already.
    // `extra_aad` must be what the sender passed to seal(), or AuthFailed.
    // On anything but Ok, `plaintext` is left empty. Its capacity is reused:
    // a caller that keeps one string saves an allocation per datagram.
    Open open(const unsigned char* data, size_t len, const wire::Header& h, std::string* plaintext,
              std::string_view extra_aad = {});

private:
    // open() without clearing `plaintext` on failure (open() does that).
    Open open_into(const unsigned char* data, size_t len, const wire::Header& h, std::string* plaintext,
                   std::string_view extra_aad);
    // The subkey cipher of one sender incarnation, or null if the library
    // refuses.
    std::unique_ptr<Aead> derive(const Key& key, uint64_t sender, uint64_t incarnation) const;
    // The cached subkey cipher, or one derived now. Derived ciphers are
    // cached only when `keep` (our own, or one whose tag verified), so a
    // forger cycling through sender ids cannot evict real members' ciphers.
    Aead* context(uint8_t id, uint64_t sender, uint64_t incarnation, std::unique_ptr<Aead>* fresh);
    Aead* keep(uint8_t id, uint64_t sender, uint64_t incarnation, std::unique_ptr<Aead> ctx);

    uint64_t cluster_id_, self_, incarnation_;
    AeadFactory make_aead_;
    std::map<uint8_t, Key> keys_;
    uint8_t seal_id_ = 0;
    // Subkey ciphers by (key id, sender, incarnation), each with its key
    // schedule set up once; bounded.
    std::map<std::tuple<uint8_t, uint64_t, uint64_t>, std::unique_ptr<Aead>> contexts_;
};

}  // namespace mccache::crypto
