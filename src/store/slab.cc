#include "store/slab.h"

#include <sys/mman.h>

#include <cstring>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
// Free blocks are poisoned, so a read through a value released too early
// is caught as it would be with malloc.
#define SLAB_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SLAB_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SLAB_POISON(p, n) ((void)(p), (void)(n))
#define SLAB_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace mccache::store {

namespace {
// Pages come from segments of this many, mapped once and never returned
// before the slab dies; an empty page's memory is (kKeepEmpty aside).
constexpr size_t kSegmentPages = 64;
// Empty pages kept warm: a class whose last block comes and goes (an
// entry rewritten into a new block) must not map and unmap a page each time.
constexpr size_t kKeepEmpty = 8;
constexpr size_t kOsPage = 4096;
}  // namespace

// At the start of each page; blocks follow at kHeader. A free block holds
// the offset of the next one in its first four bytes.
struct Slab::Page {
    Slab* slab;
    Page* prev;  // the class's partial list, or the slab's empty list
    Page* next;
    uint32_t free;  // offset of the first free block, 0 when none
    uint32_t bump;  // offset of the first never-used block
    uint32_t used;  // blocks handed out
    uint16_t cls;
    bool partial;  // on the class's partial list
};
namespace {
constexpr uint32_t kHeader = 64;
static_assert(kHeader % 4 == 0);
}  // namespace

Slab* Slab::create() { return new Slab(); }

Slab::~Slab() {
    for (void* s : segments_) {
        // ASan keeps a range's poison past munmap: the next mapping there
        // (a thread's stack, say) would read as poisoned.
        SLAB_UNPOISON(s, kSegmentPages * kPageBytes);
        munmap(s, kSegmentPages * kPageBytes);
    }
}

void Slab::unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

Slab::Page* Slab::take_page(uint16_t cls) {
    Page* p = nullptr;
    {
        Guard g(pages_lock_);
        if (empty_) {
            p = empty_;
            empty_ = p->next;
            --empty_count_;
        } else {
            if (carve_ == carve_end_) {
                // Aligned to the page size, so that a block finds its page.
                size_t len = kSegmentPages * kPageBytes, slop = kPageBytes - kOsPage;
                void* m = mmap(nullptr, len + slop, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
                if (m == MAP_FAILED) return nullptr;
                auto base = reinterpret_cast<uintptr_t>(m);
                uintptr_t aligned = (base + kPageBytes - 1) & ~(uintptr_t{kPageBytes} - 1);
                if (aligned > base) munmap(m, aligned - base);
                if (aligned + len < base + len + slop) munmap(reinterpret_cast<void*>(aligned + len),
                                                              base + len + slop - aligned - len);
                try {
                    segments_.push_back(reinterpret_cast<void*>(aligned));
                } catch (...) {
                    munmap(reinterpret_cast<void*>(aligned), len);
                    return nullptr;
                }
                carve_ = reinterpret_cast<char*>(aligned);
                carve_end_ = carve_ + len;
            }
            p = reinterpret_cast<Page*>(carve_);
            carve_ += kPageBytes;
        }
    }
    SLAB_UNPOISON(p, kHeader);
    p->slab = this;
    p->prev = p->next = nullptr;
    p->free = 0;
    p->bump = kHeader;
    p->used = 0;
    p->cls = cls;
    p->partial = false;
    SLAB_POISON(reinterpret_cast<char*>(p) + kHeader, kPageBytes - kHeader);
    pages_in_use_.fetch_add(1, std::memory_order_relaxed);
    return p;
}

void Slab::give_page(Page* p) {
    pages_in_use_.fetch_sub(1, std::memory_order_relaxed);
    Guard g(pages_lock_);
    if (empty_count_ >= kKeepEmpty) {
        // Back to the system but the first OS page, which keeps the link.
        SLAB_UNPOISON(reinterpret_cast<char*>(p) + kOsPage, kPageBytes - kOsPage);
        madvise(reinterpret_cast<char*>(p) + kOsPage, kPageBytes - kOsPage, MADV_DONTNEED);
    }
    p->next = empty_;
    empty_ = p;
    ++empty_count_;
}

void* Slab::alloc(size_t n) {
    auto cls = static_cast<uint16_t>(class_of(n));
    uint32_t size = static_cast<uint32_t>(size_of(cls));
    Class& c = classes_[cls];
    char* block;
    {
        Guard g(c.lock);
        Page* p = c.partial;
        if (!p) {
            p = take_page(cls);
            if (!p) return nullptr;
            p->partial = true;
            c.partial = p;
        }
        char* base = reinterpret_cast<char*>(p);
        if (p->free) {
            block = base + p->free;
            SLAB_UNPOISON(block, size);
            uint32_t next;
            std::memcpy(&next, block, sizeof next);
            p->free = next;
        } else {
            block = base + p->bump;
            SLAB_UNPOISON(block, size);
            p->bump += size;
        }
        ++p->used;
        if (!p->free && p->bump + size > kPageBytes) {
            // Full: off the partial list until a block comes back.
            c.partial = p->next;
            if (p->next) p->next->prev = nullptr;
            p->next = p->prev = nullptr;
            p->partial = false;
        }
    }
    refs_.fetch_add(1, std::memory_order_relaxed);
    return block;
}

void Slab::free(void* ptr) {
    auto* p = reinterpret_cast<Page*>(reinterpret_cast<uintptr_t>(ptr) & ~(uintptr_t{kPageBytes} - 1));
    Slab* slab = p->slab;
    Class& c = slab->classes_[p->cls];
    bool empty = false;
    {
        Guard g(c.lock);
        auto off = static_cast<uint32_t>(static_cast<char*>(ptr) - reinterpret_cast<char*>(p));
        std::memcpy(ptr, &p->free, sizeof p->free);
        SLAB_POISON(ptr, size_of(p->cls));
        p->free = off;
        if (--p->used == 0) {
            if (p->partial) {
                if (p->prev) p->prev->next = p->next; else c.partial = p->next;
                if (p->next) p->next->prev = p->prev;
            }
            empty = true;
        } else if (!p->partial) {
            p->partial = true;
            p->prev = nullptr;
            p->next = c.partial;
            if (c.partial) c.partial->prev = p;
            c.partial = p;
        }
    }
    // Off every list: nobody else can reach the page now.
    if (empty) slab->give_page(p);
    slab->unref();
}

}  // namespace mccache::store
