// Eviction policy of one shard: adaptive W-TinyLFU as in Caffeine 3.3.1
// (BoundedLocalCache: evictFromWindow, evictFromMain, admit, climb; its
// ReactiveClimber), or exact LRU.
//
// Sizes are kept in entries, as Caffeine keeps its weights; a byte-bounded
// cache gives each segment the same share of the shard's bytes, so a segment
// is over its maximum when it is over in either unit.
#include <algorithm>
#include <cmath>

#include "store/shard.h"

namespace mccache::store {

using namespace entry;

namespace {
constexpr double kPercentMain = 0.99;
constexpr double kPercentMainProtected = 0.80;
constexpr int kAdmitHashDosThreshold = 6;
constexpr int kQueueTransferThreshold = 1000;
// ReactiveClimber.
constexpr double kRestartThreshold = 0.05;
constexpr double kStepPercent = 0.0625;
constexpr double kStepDecayRate = 0.98;
constexpr double kMinInitialStep = 2.0;
constexpr uint64_t kSlowAdaptThreshold = 512;
constexpr double kSlowAdaptRatioCap = 4.0;
constexpr double kSlowAdaptDecayRate = 0.995;

double restart_magnitude(uint64_t maximum) {
    return std::max(kStepPercent * static_cast<double>(maximum), kMinInitialStep);
}
}  // namespace

void Store::Shard::policy_init(bool use_tinylfu, uint64_t entries, uint64_t bytes) {
    tinylfu = use_tinylfu;
    cap_e = std::max<uint64_t>(entries, 1);
    cap_b = std::max<uint64_t>(bytes, 1);
    bytes_per_entry = static_cast<double>(cap_b) / static_cast<double>(cap_e);
    auto max = static_cast<int64_t>(cap_e);
    window_max = max - static_cast<int64_t>(kPercentMain * static_cast<double>(max));
    protected_max = static_cast<int64_t>(kPercentMainProtected * static_cast<double>(max - window_max));
    bool slow = cap_e <= kSlowAdaptThreshold;
    step = slow ? restart_magnitude(cap_e) : -restart_magnitude(cap_e);
}

namespace {
// The byte share of a segment holding `entries` of the shard's cap_e: a
// multiply, as every write asks (a 128-bit division took 1.5 % of an update).
inline uint64_t bytes_share(int64_t entries, double bytes_per_entry) {
    if (entries <= 0) return 0;
    return static_cast<uint64_t>(static_cast<double>(entries) * bytes_per_entry);
}
}  // namespace

// ---- lists ----

void Store::Shard::push_tail(Seg s, uint32_t i) {
    Block* b = at(i);
    List& l = lists[s];
    set_seg(b, s);
    set_link(b, kPrev, l.tail);
    set_link(b, kNext, kNil);
    if (l.tail != kNil) set_link(at(l.tail), kNext, i); else l.head = i;
    l.tail = i;
    l.count++;
    l.bytes += charge_of(b);
}

void Store::Shard::push_head(Seg s, uint32_t i) {
    Block* b = at(i);
    List& l = lists[s];
    set_seg(b, s);
    set_link(b, kPrev, kNil);
    set_link(b, kNext, l.head);
    if (l.head != kNil) set_link(at(l.head), kPrev, i); else l.tail = i;
    l.head = i;
    l.count++;
    l.bytes += charge_of(b);
}

void Store::Shard::unlink(uint32_t i) {
    Block* b = at(i);
    List& l = lists[seg(b)];
    uint32_t p = link(b, kPrev), n = link(b, kNext);
    if (p != kNil) set_link(at(p), kNext, n); else l.head = n;
    if (n != kNil) set_link(at(n), kPrev, p); else l.tail = p;
    l.count--;
    l.bytes -= charge_of(b);
}

void Store::Shard::transfer(uint32_t i, Seg to) {
    unlink(i);
    push_tail(to, i);
}

void Store::Shard::move_to_tail(uint32_t i) {
    Block* b = at(i);
    List& l = lists[seg(b)];
    if (l.tail == i) return;
    // Not the tail, so it has a next; its count and bytes stay.
    uint32_t p = link(b, kPrev), n = link(b, kNext);
    if (p != kNil) set_link(at(p), kNext, n); else l.head = n;
    set_link(at(n), kPrev, p);
    set_link(b, kPrev, l.tail);
    set_link(b, kNext, kNil);
    set_link(at(l.tail), kNext, i);
    l.tail = i;
}

namespace {
inline bool over(const List& l, int64_t max_e, double bytes_per_entry) {
    return static_cast<int64_t>(l.count) > max_e || l.bytes > bytes_share(max_e, bytes_per_entry);
}
}  // namespace

// ---- events ----

void Store::Shard::on_insert(uint32_t i, uint64_t tag) {
    if (!tinylfu) {
        record_reads = true;  // exact LRU needs every read
        push_tail(kWindow, i);
        return;
    }
    Block* b = at(i);
    bool oversized = charge_of(b) > bytes_share(window_max, bytes_per_entry);
    if (oversized) push_head(kWindow, i); else push_tail(kWindow, i);
    uint64_t count = lists[kWindow].count + lists[kProbation].count + lists[kProtected].count;
    uint64_t weight = lists[kWindow].bytes + lists[kProbation].bytes + lists[kProtected].bytes;
    if (count * 2 >= cap_e || weight * 2 >= cap_b) {
        // Half full: start counting. A byte-bounded shard sizes the sketch
        // by what it holds, as Caffeine does for weighted caches.
        sketch.ensure_capacity(std::min(cap_e, std::max<uint64_t>(2 * count, 1)));
        record_reads = true;
    }
    sample_misses++;
    sketch.increment(tag);
}

void Store::Shard::on_update(uint32_t i, uint64_t tag, int64_t dbytes) {
    Block* b = at(i);
    lists[seg(b)].bytes += static_cast<uint64_t>(dbytes);
    if (!tinylfu) {
        transfer(i, kWindow);
        return;
    }
    // Caffeine's UpdateTask: an update is a hit, unless it made a window
    // entry too big for the window, which then goes to its front.
    if (seg(b) == kWindow && charge_of(b) > bytes_share(window_max, bytes_per_entry)) {
        unlink(i);
        push_head(kWindow, i);
        return;
    }
    access(i, tag);
}

void Store::Shard::on_tomb(uint32_t i) { push_tail(kTombs, i); }

void Store::Shard::on_remove(uint32_t i) { unlink(i); }

void Store::Shard::drain_reads() {
    unsigned n = nreads;
    nreads = 0;
    // Each access touches the entry's list neighbours (through their slots)
    // and a line of the sketch, all at random in a big cache: fetch them
    // for the whole batch first, so that the misses overlap rather than
    // follow one another. Neighbours that an earlier access of the batch
    // moves are fetched in vain. Not worth the passes while the store's
    // table (so its blocks) is small enough to stay in the CPU's caches:
    // at 10 000 entries the passes cost 10 %, at a million they save 25 %.
    constexpr uint64_t kPrefetchFromSlots = uint64_t{1} << 17;
    if ((uint64_t{cap} << bucket_shift) >= kPrefetchFromSlots) prefetch_reads(n);
    for (unsigned r = 0; r < n; ++r) {
        uint32_t i = reads[r].index;
        // A slot emptied or reused since the read: a lost or misattributed
        // access, harmless to the policy.
        if (i >= cap || !slots[i] || is_tomb(at(i))) continue;
        access(i, reads[r].tag);
    }
}

void Store::Shard::prefetch_reads(unsigned n) const {
    for (unsigned r = 0; r < n; ++r) {
        uint32_t i = reads[r].index;
        if (i >= cap || !slots[i]) continue;
        const Block* b = at(i);
        for (Link l : {kPrev, kNext})
            if (uint32_t j = link(b, l); j < cap) __builtin_prefetch(&slots[j]);
        if (tinylfu) sketch.prefetch(reads[r].tag);
    }
    for (unsigned r = 0; r < n; ++r) {
        uint32_t i = reads[r].index;
        if (i >= cap || !slots[i]) continue;
        const Block* b = at(i);
        for (Link l : {kPrev, kNext})
            if (uint32_t j = link(b, l); j < cap && slots[j]) __builtin_prefetch(at(j), 1);
    }
}

// Caffeine's onAccess.
void Store::Shard::access(uint32_t i, uint64_t tag) {
    Block* b = at(i);
    if (!tinylfu) {
        move_to_tail(i);
        return;
    }
    sketch.increment(tag);
    if (seg(b) == kProbation && charge_of(b) <= bytes_share(protected_max, bytes_per_entry)) {
        transfer(i, kProtected);
    } else {
        move_to_tail(i);
    }
    sample_hits++;
}

// ---- eviction ----

void Store::Shard::evict(Evictor& ev) {
    // Tombstones are never read and carry no value: under byte pressure they
    // go first, oldest first. They free no entry, so not for the entry bound.
    while (lists[kTombs].head != kNil && ev.bytes_over()) ev.evict(lists[kTombs].head);
    if (!tinylfu) {
        while (ev.over()) {
            uint32_t v = lists[kWindow].head;
            if (v == keep) v = link(at(v), kNext);
            if (v == kNil) return;
            ev.evict(v);
        }
        return;
    }
    // evictFromWindow: the window's overflow moves to probation's tail; the
    // first of them is the first candidate for admission.
    cand = kNil;
    uint32_t node = lists[kWindow].head;
    for (int remaining = kQueueTransferThreshold;
         remaining > 0 && node != kNil && over(lists[kWindow], window_max, bytes_per_entry); --remaining) {
        uint32_t next = link(at(node), kNext);
        transfer(node, kProbation);
        if (cand == kNil) cand = node;
        node = next;
    }
    // evictFromMain: the candidate (from the window) and the victim (the
    // probation's least recent) duel by frequency; the loser goes.
    Seg victim_queue = kProbation, candidate_queue = kProbation;
    vict = lists[kProbation].head;
    while (ev.over()) {
        if (cand == kNil && candidate_queue == kProbation) {
            cand = lists[kWindow].head;
            candidate_queue = kWindow;
        }
        if (cand == kNil && vict == kNil) {
            if (victim_queue == kProbation) {
                vict = lists[kProtected].head;
                victim_queue = kProtected;
                continue;
            }
            if (victim_queue == kProtected) {
                vict = lists[kWindow].head;
                victim_queue = kWindow;
                continue;
            }
            break;
        }
        // The entry being written is not evicted by its own write.
        if (cand != kNil && cand == keep) {
            cand = link(at(cand), kNext);
            continue;
        }
        if (vict != kNil && vict == keep) {
            vict = link(at(vict), kNext);
            continue;
        }
        uint32_t evictee;
        if (vict == kNil) {
            evictee = cand;
            cand = link(at(cand), kNext);
        } else if (cand == kNil) {
            evictee = vict;
            vict = link(at(vict), kNext);
        } else if (cand == vict) {
            evictee = vict;
            vict = link(at(vict), kNext);
            cand = kNil;
        } else {
            int cf = sketch.frequency(tag_of_block(at(cand)));
            int vf = sketch.frequency(tag_of_block(at(vict)));
            bool admit = cf > vf;
            if (!admit && cf >= kAdmitHashDosThreshold) {
                // A hot candidate against a hot victim: admit one in 128 at
                // random, so crafted collisions cannot pin the victim.
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                admit = (rng & 127) == 0;
            }
            if (admit) {
                evictee = vict;
                vict = link(at(vict), kNext);
                ev.evict(evictee);
                if (cand != kNil) cand = link(at(cand), kNext);
                continue;
            }
            evictee = cand;
            cand = link(at(cand), kNext);
        }
        ev.evict(evictee);
    }
    cand = vict = kNil;
}

// ---- the hill climber ----

void Store::Shard::climb() {
    if (!tinylfu) return;
    uint64_t count = lists[kWindow].count + lists[kProbation].count + lists[kProtected].count;
    uint64_t weight = lists[kWindow].bytes + lists[kProbation].bytes + lists[kProtected].bytes;
    uint64_t requests = sample_hits + sample_misses;
    bool slow = cap_e <= kSlowAdaptThreshold;
    uint64_t sample_size = 10 * std::max<uint64_t>(cap_e, 256);
    uint64_t period = sample_size;
    if (slow) {
        double initial = kStepPercent * static_cast<double>(cap_e);
        double magnitude = std::max(std::fabs(step), initial / kSlowAdaptRatioCap);
        if (magnitude != 0.0) {
            double ratio = std::max(1.0, std::min(kSlowAdaptRatioCap, initial / magnitude));
            if (ratio != 1.0) period = static_cast<uint64_t>(static_cast<double>(sample_size) * ratio);
        }
    }
    if (!sketch.initialized()) {
        prev_hit_rate = 0;
        sample_hits = sample_misses = 0;
    } else if (requests >= period) {
        if (count * 2 >= cap_e || weight * 2 >= cap_b) {
            double hit_rate = static_cast<double>(sample_hits) / static_cast<double>(requests);
            double change = hit_rate - prev_hit_rate;
            double amount = change >= 0 ? step : -step;
            step = std::fabs(change) >= kRestartThreshold
                       ? std::copysign(restart_magnitude(cap_e), amount)
                       : (slow ? kSlowAdaptDecayRate : kStepDecayRate) * amount;
            adjustment = static_cast<int64_t>(amount);
            prev_hit_rate = hit_rate;
        }
        sample_hits = sample_misses = 0;
    }

    auto demote = [this] {
        for (int remaining = kQueueTransferThreshold;
             remaining > 0 && lists[kProtected].head != kNil &&
             over(lists[kProtected], protected_max, bytes_per_entry);
             --remaining)
            transfer(lists[kProtected].head, kProbation);
    };
    demote();
    if (adjustment > 0) {
        // increaseWindow: main's least recent entries move to the window.
        if (protected_max == 0) return;
        int64_t quota = std::min(adjustment, protected_max);
        protected_max -= quota;
        window_max += quota;
        demote();
        for (int i = 0; i < kQueueTransferThreshold && quota >= 1; ++i) {
            uint32_t c = lists[kProbation].head;
            if (c == kNil) c = lists[kProtected].head;
            if (c == kNil) break;
            quota -= 1;
            transfer(c, kWindow);
        }
        protected_max += quota;
        window_max -= quota;
        adjustment = quota;
    } else if (adjustment < 0) {
        // decreaseWindow: the window's least recent entries move to probation.
        if (window_max <= 1) return;
        int64_t quota = std::min(-adjustment, std::max<int64_t>(0, window_max - 1));
        protected_max += quota;
        window_max -= quota;
        for (int i = 0; i < kQueueTransferThreshold && quota >= 1; ++i) {
            uint32_t c = lists[kWindow].head;
            if (c == kNil) break;
            quota -= 1;
            transfer(c, kProbation);
        }
        protected_max -= quota;
        window_max += quota;
        adjustment = -quota;
    }
}

}  // namespace mccache::store
