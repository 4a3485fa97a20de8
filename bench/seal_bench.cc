// seal_bench: what sealing and opening one datagram costs with each crypto
// backend, side by side in one run (bench/README.md, "Sealing").
//
// Both backends are linked in through the white-box library (the library's
// own and, when installed, the other one), and each is driven through
// crypto::Sealer exactly as the cluster drives it: header encoding, nonce,
// output allocation, AES-256-GCM with the header as AAD. Cipher contexts are
// warm (derived once per sender, as in a running cluster), so what is timed
// is the per-datagram cost. Batches of both backends alternate, so a load
// change on a shared machine hits both alike.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/seal.h"
#include "wire/wire.h"

namespace crypto = mccache::crypto;
namespace wire = mccache::wire;
using Clock = std::chrono::steady_clock;

namespace {

struct Backend {
    const char* name;
    crypto::AeadFactory make;
    const char* (*version)();
};

std::vector<Backend> linked_backends() {
    std::vector<Backend> out;
#if defined(MCCACHE_WITH_OPENSSL)
    out.push_back({"openssl", &crypto::make_openssl_aead, &crypto::openssl_version});
#endif
#if defined(MCCACHE_WITH_MBEDTLS)
    out.push_back({"mbedtls", &crypto::make_mbedtls_aead, &crypto::mbedtls_version});
#endif
    return out;
}

constexpr uint64_t kCluster = 0x1122334455667788ull;
constexpr uint64_t kSender = 0x0102030405060708ull, kSenderInc = 0xA1A2A3A4A5A6A7A8ull;
constexpr size_t kMaxPayload = wire::kMaxDatagram - wire::kHeaderSize - wire::kTagSize;  // 65443

crypto::Key bench_key() {
    crypto::Key k;
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<unsigned char>(i * 7 + 1);
    return k;
}

[[noreturn]] void die(const std::string& why) {
    std::fprintf(stderr, "seal_bench: %s\n", why.c_str());
    std::exit(1);
}

// Per-datagram nanoseconds, one sample per batch (a batch's time over its
// size), so that the clock's own cost stays out of small datagrams.
struct Samples {
    std::vector<double> ns;
    double pct(double p) {
        if (ns.empty()) return 0;
        std::sort(ns.begin(), ns.end());
        size_t i = static_cast<size_t>(p * static_cast<double>(ns.size() - 1) + 0.5);
        return ns[i];
    }
    double mean() const {
        double s = 0;
        for (double x : ns) s += x;
        return ns.empty() ? 0 : s / static_cast<double>(ns.size());
    }
};

// One backend at one payload size: a sender and a receiver as two members
// would hold them, and a ring of sealed datagrams for the receiver to open.
struct Lane {
    std::unique_ptr<crypto::Sealer> tx, rx;
    wire::Header h;
    std::string payload;
    std::vector<std::string> ring;
    std::vector<wire::Header> ring_h;
    // The bare cipher, no Sealer around it: what the library call costs.
    std::unique_ptr<crypto::Aead> raw;
    std::string raw_out, kept_out, kept_plain;
    Samples seal, seal_kept, open, open_kept, raw_seal;
    size_t sink = 0;
};

Lane make_lane(const Backend& b, size_t size) {
    Lane l;
    l.tx = std::make_unique<crypto::Sealer>(kCluster, kSender, kSenderInc, b.make);
    l.rx = std::make_unique<crypto::Sealer>(kCluster, 0x99, 0x98, b.make);
    if (!l.tx->set_keys({bench_key()}, {}).ok() || !l.rx->set_keys({bench_key()}, {}).ok()) die("set_keys failed");
    l.h.type = wire::Type::Data;
    l.h.flags = wire::kFlagSequenced;
    l.h.cluster = kCluster;
    l.h.sender = kSender;
    l.h.incarnation = kSenderInc;
    l.payload.resize(size);
    for (size_t i = 0; i < size; ++i) l.payload[i] = static_cast<char>(i * 131 + 5);
    // Enough distinct datagrams that opening does not read one hot buffer
    // over and over, without leaving the cache at 64 KiB.
    const size_t ring = size > 8192 ? 8 : 64;
    for (size_t i = 0; i < ring; ++i) {
        l.h.seq = 1 + i;
        l.ring.push_back(l.tx->seal(l.h, l.payload));
        wire::Header got;
        const auto* p = reinterpret_cast<const unsigned char*>(l.ring.back().data());
        if (l.ring.back().empty() || wire::decode_header(p, l.ring.back().size(), &got) != wire::Error::None)
            die("sealing failed");
        l.ring_h.push_back(got);
    }
    const crypto::Key k = bench_key();
    l.raw = b.make(k.data());
    if (!l.raw) die("no cipher");
    l.raw_out.assign(wire::kHeaderSize + size + wire::kTagSize, '\0');
    return l;
}

// A new string per datagram, as src/cluster seals today; or one kept
// buffer (Sealer::seal_into).
void seal_batch(Lane& l, int n, bool kept) {
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        ++l.h.seq;  // a fresh nonce per datagram, as the cluster has
        if (kept) {
            if (!l.tx->seal_into(&l.kept_out, l.h, l.payload)) die("sealing failed");
            l.sink += l.kept_out.size();
        } else {
            std::string d = l.tx->seal(l.h, l.payload);
            l.sink += d.size();
        }
    }
    auto t1 = Clock::now();
    (kept ? l.seal_kept : l.seal).ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
}

void raw_seal_batch(Lane& l, int n) {
    auto* p = reinterpret_cast<unsigned char*>(l.raw_out.data());
    const auto* in = reinterpret_cast<const unsigned char*>(l.payload.data());
    const size_t len = l.payload.size();
    unsigned char nonce[crypto::kAeadNonceSize] = {};
    size_t bad = 0;
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        nonce[0] = static_cast<unsigned char>(i);
        bad += !l.raw->seal(nonce, crypto::Aad{p, wire::kHeaderSize, nullptr, 0}, in, len, p + wire::kHeaderSize,
                            p + wire::kHeaderSize + len);
    }
    auto t1 = Clock::now();
    if (bad) die("the cipher failed");
    l.raw_seal.ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
}

// Into a new string per datagram, as src/cluster opens today; or into one
// kept string.
void open_batch(Lane& l, int n, bool kept) {
    size_t bad = 0;
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        size_t k = static_cast<size_t>(i) % l.ring.size();
        const auto* p = reinterpret_cast<const unsigned char*>(l.ring[k].data());
        if (kept) {
            bad += l.rx->open(p, l.ring[k].size(), l.ring_h[k], &l.kept_plain) != crypto::Sealer::Open::Ok;
            l.sink += l.kept_plain.size();
        } else {
            std::string plain;
            bad += l.rx->open(p, l.ring[k].size(), l.ring_h[k], &plain) != crypto::Sealer::Open::Ok;
            l.sink += plain.size();
        }
    }
    auto t1 = Clock::now();
    if (bad) die("a datagram failed to open");
    (kept ? l.open_kept : l.open).ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
}

void one_round(Lane& l, int batch) {
    seal_batch(l, batch, false);
    seal_batch(l, batch, true);
    open_batch(l, batch, false);
    open_batch(l, batch, true);
    raw_seal_batch(l, batch);
}

// What a new (sender, incarnation) costs the receiver once: HKDF-SHA256 and
// the cipher's key setup, plus one open. Not per datagram; shown so that the
// per-datagram figures can be read as the cipher alone.
double new_sender_ns(const Backend& b, int n) {
    crypto::Sealer rx(kCluster, 0x99, 0x98, b.make);
    if (!rx.set_keys({bench_key()}, {}).ok()) die("set_keys failed");
    std::vector<std::string> d;
    std::vector<wire::Header> hs;
    for (int i = 0; i < n; ++i) {
        crypto::Sealer tx(kCluster, 1000 + i, 7, b.make);
        if (!tx.set_keys({bench_key()}, {}).ok()) die("set_keys failed");
        wire::Header h;
        h.cluster = kCluster;
        h.sender = 1000 + i;
        h.incarnation = 7;
        h.seq = 1;
        d.push_back(tx.seal(h, std::string(64, 'x')));
        wire::Header got;
        wire::decode_header(reinterpret_cast<const unsigned char*>(d.back().data()), d.back().size(), &got);
        hs.push_back(got);
    }
    std::string plain;
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i)
        if (rx.open(reinterpret_cast<const unsigned char*>(d[i].data()), d[i].size(), hs[i], &plain) !=
            crypto::Sealer::Open::Ok)
            die("a datagram failed to open");
    return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / n;
}

const char* size_label(size_t n) {
    static char buf[32];
    if (n == 64) return "64 B";
    if (n == 1024) return "1 KiB";
    if (n == 1400) return "1400 B";
    if (n == kMaxPayload) return "64 KiB*";
    std::snprintf(buf, sizeof buf, "%zu B", n);
    return buf;
}

void usage() {
    std::printf(
        "usage: seal_bench [--seconds S] [--sizes N,N,...]\n"
        "  --seconds  time per payload size, all backends and both directions together (default 2)\n"
        "  --sizes    payload bytes (default 64,1024,1400,%zu: the largest payload of one datagram)\n",
        kMaxPayload);
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 2.0;
    std::vector<size_t> sizes = {64, 1024, 1400, kMaxPayload};
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc) {
            seconds = std::atof(argv[++i]);
            if (!(seconds > 0)) die("--seconds: a positive number");
        } else if (a == "--sizes" && i + 1 < argc) {
            sizes.clear();
            std::string list = argv[++i];
            for (size_t at = 0; at <= list.size();) {
                size_t comma = list.find(',', at);
                if (comma == std::string::npos) comma = list.size();
                long n = std::atol(list.substr(at, comma - at).c_str());
                if (n < 0 || static_cast<size_t>(n) > kMaxPayload)
                    die("--sizes: each between 0 and " + std::to_string(kMaxPayload));
                sizes.push_back(static_cast<size_t>(n));
                at = comma + 1;
            }
        } else if (a == "--help" || a == "-h") {
            usage();
            return 0;
        } else {
            usage();
            return 2;
        }
    }

    std::vector<Backend> backends = linked_backends();
    std::printf("library backend: %s (%s)\n", crypto::backend_name(), crypto::backend_version());
    for (const Backend& b : backends) std::printf("linked: %-8s %s\n", b.name, b.version());
    if (backends.size() < 2) std::printf("(only one backend is installed: no side-by-side ratio)\n");
    std::printf("%.1f s per size; per-datagram ns (one sample per batch), warm cipher contexts\n\n", seconds);

    std::printf("| payload | op |");
    for (const Backend& b : backends) std::printf(" %s p50 ns | p99 ns | mean ns | ns/byte |", b.name);
    if (backends.size() == 2) std::printf(" %s/%s |", backends[1].name, backends[0].name);
    std::printf("\n|---|---|");
    for (size_t i = 0; i < backends.size(); ++i) std::printf("---:|---:|---:|---:|");
    if (backends.size() == 2) std::printf("---:|");
    std::printf("\n");

    size_t sink = 0;
    for (size_t size : sizes) {
        std::vector<Lane> lanes;
        for (const Backend& b : backends) lanes.push_back(make_lane(b, size));
        // About 20 µs per batch on the faster backend, at least one datagram.
        const int batch = std::max(1, static_cast<int>(20000 / (100 + 0.5 * static_cast<double>(size))));
        for (Lane& l : lanes) {  // warm-up: caches, allocator, CPU frequency
            for (int i = 0; i < 3; ++i) one_round(l, batch);
            for (Samples* s : {&l.seal, &l.seal_kept, &l.open, &l.open_kept, &l.raw_seal}) s->ns.clear();
        }
        auto until = Clock::now() + std::chrono::duration<double>(seconds);
        while (Clock::now() < until || lanes[0].seal.ns.size() < 20) {
            for (Lane& l : lanes) one_round(l, batch);
        }
        for (int op = 0; op < 5; ++op) {
            static const char* ops[] = {"seal", "seal, kept buffer", "open", "open, kept buffer", "cipher only"};
            std::printf("| %s | %s |", size_label(size), ops[op]);
            std::vector<double> p50;
            for (Lane& l : lanes) {
                Samples* all[] = {&l.seal, &l.seal_kept, &l.open, &l.open_kept, &l.raw_seal};
                Samples& s = *all[op];
                double m = s.pct(0.5);
                p50.push_back(m);
                std::printf(" %.0f | %.0f | %.0f | %.3f |", m, s.pct(0.99), s.mean(),
                            size ? m / static_cast<double>(size) : 0.0);
            }
            if (p50.size() == 2) std::printf(" %.1fx |", p50[0] > 0 ? p50[1] / p50[0] : 0.0);
            std::printf("\n");
        }
        for (Lane& l : lanes) sink += l.sink;
    }

    std::printf("\n* 64 KiB* = %zu B, the largest payload one datagram carries.\n", kMaxPayload);
    std::printf("seal, open: crypto::Sealer into a new string per datagram, as src/cluster does today. "
                "kept buffer: seal_into/open into one string kept across datagrams. cipher only: "
                "Aead::seal alone, the header as AAD.\n");
    std::printf("\nnew sender (HKDF-SHA256 + cipher setup + one 64 B open), once per sender incarnation:\n");
    for (const Backend& b : backends) std::printf("  %-8s %.0f ns\n", b.name, new_sender_ns(b, 2000));
    if (sink == 42) std::printf(" \n");  // keeps the results observable
    return 0;
}
