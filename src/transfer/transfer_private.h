/* Shared by the transfer layer's files only (src/transfer/). */
#ifndef SEDX_TRANSFER_PRIVATE_H
#define SEDX_TRANSFER_PRIVATE_H

#include "transfer/transfer.h"
#include "core/format.h"
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

#define TAG "TRANSFER"
/* Staging batches in flight at most: each holds one of a queue's SEDX__CMD_RING one-time command
 * buffers until it completes, so the ring's FIFO, not sedx_cmd_begin, is what makes an upload
 * wait for the GPU, and a NO_WAIT upload fails with OUT_OF_STAGING instead of waiting for a
 * command buffer (with 8 MiB batches a 512 MiB ring held 64 of them; tests/gpu/transfer_caps.c).
 * Half the command buffers: the other half stays for downloads, copies and the caller's own. */
#define FIFO_CAP 32u
#define RING_MIN (64u << 10) /* the smallest ring: staging_size / readback_size below it are refused */
#define RING_ALIGN 16u /* ring allocations start 16-byte aligned (uvec4 scatter) */

/* image_upload.c: a piece of an image upload in the open batch (one VkBufferImageCopy from the
 * ring), and the images the batch holds, with the layouts it moves each one between. */
typedef struct image_piece {
    sedx_image_resource *img;
    VkBufferImageCopy copy;
    uint32_t call; /* the sedx_upload_image call it came from (a barrier between calls) */
} image_piece;
typedef struct image_entry {
    sedx_image_resource *img;
    VkImageLayout from, to;
} image_entry;

typedef struct region {
    sedx_buffer_resource *dst;
    uint64_t src_offset; /* in the ring */
    uint64_t dst_offset;
    uint64_t size;
} region;

/* reserve.c: ring bytes handed out by sedx_upload_reserve. The FIFO (tail/fifo) cannot keep
 * them: a batch submitted while one is outstanding takes every byte up to head, and its ticket
 * frees them. So each reservation is also a pin, a physical range that ring_fits skips, from
 * reserve until it is cancelled, or until the batch it was committed into has completed. */
#define PIN_CAP 256u /* pins per ring (outstanding + committed + in flight) */
enum { PIN_FREE = 0, PIN_RESERVED, PIN_COMMITTED, PIN_IN_FLIGHT };
typedef struct ring_pin {
    uint64_t start, size;   /* physical range in the ring (size 16-byte aligned) */
    uint64_t handle;        /* RESERVED: the reservation's handle (slot | serial << 8) */
    uint32_t state;
    sedx_ticket ticket;     /* IN_FLIGHT: the batch that copies the bytes */
    sedx_buffer dst;        /* RESERVED: the caller's reference (checked at commit); we hold one of our own */
    uint64_t dst_offset, data_size;
} ring_pin;

typedef struct ring {
    sedx_buffer buffer;
    uint8_t *ptr;
    uint64_t size, head, tail;
    uint64_t committed; /* head at the last commit: [committed, head) is the open batch's */
    VkDeviceAddress address;
    struct { uint64_t end; sedx_ticket ticket; } fifo[FIFO_CAP];
    uint32_t fifo_first, fifo_count;
    ring_pin pins[PIN_CAP]; /* reserve.c; the upload ring only */
    uint32_t pin_count;     /* pins not FREE */
} ring;

/* One copy of a parallel job list. */
typedef struct copy_job {
    uint8_t *dst;
    const uint8_t *src;
    size_t size;
    bool stream; /* non-temporal stores (destination is write-combined staging) */
} copy_job;

/* A pool of threads for copies (the caller works too): a job list whose entries workers take
 * one at a time. Workers sleep on a condition variable between lists: spinning was measured
 * slower on the H100 host (16 cores), because spinners starve the driver's own threads. */
typedef struct memcpy_pool {
    pthread_t threads[16];
    uint32_t count;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    _Atomic uint64_t generation;
    _Atomic bool quit;
    const copy_job *_Atomic jobs;
    /* the next job to claim (low 32 bits) and the list's job count (high 32 bits) in one word,
     * so that a claim reads both at once: a worker that claims from a finished list and only then
     * read the count, which the next list had already set, took jobs of that list twice */
    _Atomic uint64_t claim;
    _Alignas(64) _Atomic uint32_t finished; /* its own line: claims and completions do not share one */
    _Atomic uint32_t step;                  /* jobs per claim (pool.c: claim_step) */
    _Atomic uint32_t active; /* threads inside pool_work: a list ends only when this is 0 */
    bool prefetch;           /* copies prefetch their source (default; SEDX_SMALL_COPY=stream or libc: off) */
    uint64_t spin_ns;        /* how long a worker polls for the next list before it sleeps (SEDX_POOL_SPIN_US, 200 us) */
    _Atomic bool hot;        /* a call that may publish more lists is running: workers poll (sedx__pool_hot) */
    uint32_t pieces;         /* SEDX_COPY_PIECES: pieces of one large copy (0: four per thread), i.e. the threads it uses (A/B knob) */
} memcpy_pool;

struct sedx__transfer {
    pthread_mutex_t lock;
    sedx_transfer_info info;
    ring up, down;
    region *regions;
    uint32_t region_count, region_cap;
    /* overlap.c: the bytes the open batch's regions write, as 256-byte granules per destination
     * (a hash set of 64-granule words; an entry is live while its gen is batch_id + 1), and
     * whether two regions may share a granule (then the exact test decides at submit) */
    struct touch_word *touch;
    uint32_t touch_cap, touch_used, touch_limit; /* limit: half the capacity (0 before the first grow) */
    unsigned touch_shift;                      /* 64 - log2(touch_cap): the hash's top bits */
    bool touch_maybe;
    sedx_buffer_resource **held; /* one reference per destination buffer of the open batch */
    uint32_t held_count, held_cap;
    uint64_t batch_id;
    uint64_t batch_bytes;
    sedx_ticket last_ticket;
    uint64_t last_value[SEDX_QUEUE_COUNT]; /* last value of sedx transfer submits per queue */
    bool use_transfer_queue, nvidia;
    uint32_t copy_groups; /* most workgroups of one compute copy (grid-stride beyond) */
    uint64_t batch_cap;   /* most bytes an open batch collects before it is submitted (sedx__batch_target) */
    uint64_t chunk_cap;   /* the staged path's largest chunk of one upload (sedx__chunk_target) */
    uint64_t readback_chunk; /* most bytes of one readback-ring chunk (readback.c) */
    bool readback_stream;    /* SEDX_READBACK_STREAM=1: non-temporal stores out of the readback ring (A/B knob) */
    bool ramp;               /* SEDX_RAMP=1: large transfers start and end with small chunks (A/B knob) */
    uint64_t wait_spin_ns;   /* SEDX_WAIT_SPIN_US: transfer waits poll the timeline this long before they block */
    bool scatter_mirror;     /* SEDX_SCATTER_MIRROR=1: a scatter batch's ring bytes go to device memory first (A/B knob) */
    sedx_buffer mirror;      /* batch.c: device-local, the upload ring's size; its offsets are the ring's */
    bool no_wait;            /* a NO_WAIT call holds the lock: a batch it submits takes no ring room it would wait for */
    bool scatter;         /* small uploads by compute dispatch (discrete GPUs; see docs/transfer.md) */
    bool small_copy_libc; /* SEDX_SMALL_COPY=libc: glibc memcpy for small copies into the ring (A/B knob) */
    /* compute */
    VkPipelineLayout layout;
    VkPipeline copy_pipe, scatter_pipe;
    memcpy_pool pool;
    bool pool_started;
    sedx_transfer_stats stats;
    struct sedx__readback *rb; /* readback_async.c: the asynchronous readback (own lock, own ring) */
    uint64_t reserve_serial; /* reserve.c: makes every reservation handle unique */
    /* image_upload.c: image pieces of the open batch, the images they write (one reference
     * each), and whether the batch must run on the main queue for them */
    image_piece *pieces;
    uint32_t piece_count, piece_cap;
    image_entry *images;
    uint32_t image_count, image_cap;
    uint32_t image_call;
    bool batch_main;
    int image_queue_ok; /* -1 unknown; 1: the transfer family copies images at texel granularity */
};

/* When the open batch is submitted (once it holds this many bytes; also the most bytes of one
 * group of small batched uploads): a quarter of the ring, at most batch_cap (8 MiB). And the
 * largest chunk one large upload is copied and submitted in: a quarter of the ring, at most
 * chunk_cap (16 MiB). Fixed caps rather than a quarter alone: once the ring has grown to 256 MiB
 * a quarter is 64 MiB, and a 64 MiB batch keeps the copy engine idle while the CPU fills it and
 * the CPU idle while the last one drains. H100, same binary, caps varied by SEDX_BATCH_KB: the
 * pageable upload 0.69x its limit with quarters, 0.95x with 16 MiB chunks, 0.58-0.64x with 2-4
 * MiB (each chunk wakes the copy threads); one sedx_upload per 4 KiB piece 0.71x a memcpy with
 * quarters, 0.89x at 16 MiB, 0.93-1.04x at 8 MiB, 1.11x at 2 MiB; batched 4 KiB pieces best at
 * 8 MiB (docs/transfer.md). */
static inline uint64_t sedx__batch_target(const struct sedx__transfer *t) { return SEDX__MIN(t->up.size / 4, t->batch_cap); }
static inline uint64_t sedx__chunk_target(const struct sedx__transfer *t) { return SEDX__MIN(t->up.size / 4, t->chunk_cap); }

/* Does the open batch hold anything? */
static inline bool sedx__batch_open(const struct sedx__transfer *t) { return t->region_count || t->piece_count; }


static inline struct sedx__transfer *sedx__get_transfer(sedx_context *ctx) { return ctx->layers.transfer; }

/* ------------------------------------------------------------------------------------------
 * pool.c: parallel memcpy
 * ---------------------------------------------------------------------------------------- */
#if defined(__SSE2__)
#include <emmintrin.h>
/* Copy with non-temporal stores: large copies into staging (write-combined) memory or out of
 * it into user memory do not pull the destination into the cache first. With prefetch, the
 * source's first KiB is prefetched at once and each line 1 KiB ahead while copying: a 4 KiB
 * piece starts on a new page, where the hardware prefetcher starts over. (A constant at every
 * call site below: the compiler keeps one loop or the other.) */
static inline __attribute__((always_inline)) void stream_copy_impl(uint8_t *dst, const uint8_t *src, size_t n,
                                                                   bool prefetch)
{
    for (size_t k = 0; prefetch && k < n && k < 1024; k += 64) _mm_prefetch((const char *)src + k, _MM_HINT_T0);
    size_t head = (16 - ((uintptr_t)dst & 15)) & 15;
    if (head > n) head = n;
    memcpy(dst, src, head);
    dst += head;
    src += head;
    n -= head;
    for (; n >= 64; n -= 64, dst += 64, src += 64) {
        if (prefetch) _mm_prefetch((const char *)src + 1024, _MM_HINT_T0); /* never faults, past the end too */
        __m128i a = _mm_loadu_si128((const __m128i *)src), b = _mm_loadu_si128((const __m128i *)(src + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + 32)), d = _mm_loadu_si128((const __m128i *)(src + 48));
        _mm_stream_si128((__m128i *)dst, a);
        _mm_stream_si128((__m128i *)(dst + 16), b);
        _mm_stream_si128((__m128i *)(dst + 32), c);
        _mm_stream_si128((__m128i *)(dst + 48), d);
    }
    memcpy(dst, src, n);
    _mm_sfence();
}
static inline void sedx__stream_copy(uint8_t *dst, const uint8_t *src, size_t n) { stream_copy_impl(dst, src, n, false); }
static inline void sedx__stream_copy_prefetch(uint8_t *dst, const uint8_t *src, size_t n) { stream_copy_impl(dst, src, n, true); }
#else
static inline void sedx__stream_copy(uint8_t *dst, const uint8_t *src, size_t n) { memcpy(dst, src, n); }
static inline void sedx__stream_copy_prefetch(uint8_t *dst, const uint8_t *src, size_t n) { memcpy(dst, src, n); }
#endif

void sedx__pool_start(memcpy_pool *p, uint32_t threads);
/* Between sedx__pool_hot(p, true) and (p, false) (one transfer call: a batch's groups, a large
 * upload's or download's chunks), a worker that finishes a list polls up to spin_ns for the next
 * one instead of sleeping at once: a wake-up costs tens of microseconds per list on a 16-core
 * host. Outside a call no worker polls. */
static inline void sedx__pool_hot(memcpy_pool *p, bool on) { atomic_store_explicit(&p->hot, on, memory_order_relaxed); }
void sedx__pool_stop(memcpy_pool *p);
/* Runs every job, over the pool's threads when there is enough work. One list at a time
 * (callers hold the transfer lock). */
void sedx__pool_run(memcpy_pool *p, const copy_job *jobs, uint32_t count, size_t total_bytes);
/* The same, with side(side_arg) run on the calling thread while the workers start on the list
 * (before the caller joins them): work of the caller's that does not need the copied bytes. */
void sedx__pool_run_with(memcpy_pool *p, const copy_job *jobs, uint32_t count, size_t total_bytes, void (*side)(void *),
                         void *side_arg);
/* memcpy, split into page-aligned pieces over the pool for large sizes. */
void sedx__pool_memcpy(memcpy_pool *p, void *dst, const void *src, size_t size);
/* The same with non-temporal stores when stream is true. */
void sedx__pool_copy(memcpy_pool *p, void *dst, const void *src, size_t size, bool stream);

/* ------------------------------------------------------------------------------------------
 * ring.c: the staging and readback rings (lock held for all)
 * ---------------------------------------------------------------------------------------- */
sedx_result sedx__ring_ensure(sedx_context *ctx, struct sedx__transfer *t, ring *r);
void sedx__ring_reclaim(sedx_context *ctx, ring *r);
void sedx__ring_commit(ring *r, sedx_ticket ticket);
bool sedx__ring_fits(const ring *r, uint64_t size, uint64_t *pad);
bool sedx__ring_grow(sedx_context *ctx, struct sedx__transfer *t);
sedx_result sedx__ring_alloc(sedx_context *ctx, struct sedx__transfer *t, ring *r, uint64_t size, bool allow_submit,
                             bool no_wait, uint64_t *out_offset);

/* ------------------------------------------------------------------------------------------
 * reserve.c: the pins of reservations (lock held for all)
 * ---------------------------------------------------------------------------------------- */
/* Moves *pad on (from r->head) past every pin that [head + pad, + size) would overlap, and past
 * the ring's end; false when no place within one lap is free of pins. */
bool sedx__pins_skip(const ring *r, uint64_t size, uint64_t *pad);
/* Frees the IN_FLIGHT pins whose batch has completed. */
void sedx__pins_reclaim(sedx_context *ctx, ring *r);
/* The open batch was submitted with ticket (COMMITTED -> IN_FLIGHT) / failed (COMMITTED -> FREE). */
void sedx__pins_submitted(ring *r, sedx_ticket ticket);
void sedx__pins_failed(ring *r);

/* ------------------------------------------------------------------------------------------
 * batch.c: the open upload batch, ordered submissions, barriers (lock held for all)
 * ---------------------------------------------------------------------------------------- */
sedx_result sedx__batch_reserve(struct sedx__transfer *t, uint64_t regions, uint64_t buffers);

/* overlap.c (lock held for all): whether the open batch's regions overlap. Each region marks
 * [offset, offset + size) of dst as written by the open batch (sedx__touch_add), which sets
 * t->touch_maybe when a granule of it was already marked (two regions may overlap: the exact
 * test decides), when the region spans more than TOUCH_MAX_WORDS words, or when the set cannot
 * grow. Never a false "no overlap": regions sharing a byte share its granule. */
#define TOUCH_SHIFT 8u      /* 256-byte granules: one word covers 16 KiB of a buffer */
#define TOUCH_MAX_WORDS 16u /* regions up to 256 KiB are marked; larger ones leave it to the exact test */
typedef struct touch_word {
    const sedx_buffer_resource *dst;
    uint64_t word; /* granule index / 64 */
    uint64_t bits;
    uint64_t gen;  /* batch_id + 1 of the batch that marked it */
} touch_word;
#define TOUCH_CAP_MAX (1u << 16) /* entries (2 MiB); a batch that marks more words is left to the exact test */
bool sedx__touch_grow(struct sedx__transfer *t);
void sedx__touch_add_words(struct sedx__transfer *t, const sedx_buffer_resource *dst, uint64_t first, uint64_t last);
/* Marks bits of (dst, word). A hash set with linear probing, at most half full (grows first);
 * entries of earlier batches count as empty, so nothing is cleared between batches. */
static inline void sedx__touch_mark(struct sedx__transfer *t, const sedx_buffer_resource *dst, uint64_t word,
                                    uint64_t bits)
{
    if (t->touch_used >= t->touch_limit && !sedx__touch_grow(t)) {
        t->touch_maybe = true;
        return;
    }
    uint64_t gen = t->batch_id + 1;
    uint32_t mask = t->touch_cap - 1;
    uint32_t h = (uint32_t)(((word ^ (uintptr_t)dst) * 0x9E3779B97F4A7C15ull) >> t->touch_shift);
    for (;; h = (h + 1) & mask) {
        touch_word *e = &t->touch[h];
        if (e->gen != gen) {
            *e = (touch_word){dst, word, bits, gen};
            t->touch_used++;
            return;
        }
        if (e->dst == dst && e->word == word) {
            t->touch_maybe |= (e->bits & bits) != 0;
            e->bits |= bits;
            return;
        }
    }
}
static inline __attribute__((always_inline)) void sedx__touch_add(struct sedx__transfer *t, const sedx_buffer_resource *dst,
                                                                  uint64_t offset, uint64_t size)
{
    if (t->touch_maybe || !size) return; /* already undecided: the exact test runs anyway */
    uint64_t first = offset >> TOUCH_SHIFT, last = (offset + size - 1) >> TOUCH_SHIFT;
    if ((first ^ last) >> 6) { /* more than one word */
        sedx__touch_add_words(t, dst, first, last);
        return;
    }
    /* bits first..last of the word; 2 << 63 wraps to 0 (unsigned), so hi = 63 gives every bit */
    sedx__touch_mark(t, dst, first >> 6, ((2ull << (last & 63)) - 1) & (~0ull << (first & 63)));
}
/* The batch closed (its batch_id moved on): its marks are stale, nothing is undecided. */
static inline void sedx__touch_reset(struct sedx__transfer *t)
{
    t->touch_used = 0;
    t->touch_maybe = false;
}
/* Do two regions of the open batch write the same bytes? (The exact test runs only when the
 * marks could not rule it out.) */
bool sedx__batch_overlap(struct sedx__transfer *t);

/* Adds a region; room was reserved (batch_reserve). The batch holds a reference to each
 * destination until it is submitted, so a buffer released meanwhile waits for its uploads. */
static inline __attribute__((always_inline)) void sedx__batch_add(struct sedx__transfer *t, sedx_buffer_resource *dst, uint64_t src_offset, uint64_t dst_offset,
                      uint64_t size)
{
    if (dst->batch_id != t->batch_id + 1) { /* first region for this buffer in the open batch */
        dst->batch_id = t->batch_id + 1;
        sedx__buffer_ref(dst);
        t->held[t->held_count++] = dst;
    }
    t->regions[t->region_count++] = (region){dst, src_offset, dst_offset, size};
    t->batch_bytes += size;
    sedx__touch_add(t, dst, dst_offset, size);
}
sedx_result sedx__batch_submit(sedx_context *ctx, struct sedx__transfer *t, sedx_ticket *out);
/* The open batch dropped unsubmitted (why: the failure that keeps it from being submitted):
 * its buffers' references go, its ring bytes and committed reservations with it. Context
 * teardown only. Returns how many uploads (regions and image pieces) it held. */
uint32_t sedx__batch_abandon(struct sedx__transfer *t, sedx_result why);
/* sedx__batch_submit in two steps, so that the recording can run while the batch's last bytes
 * are still being copied into the ring: record (the overlap test, the scatter table, the command
 * buffer; rec->open false when the batch is empty), then send (submit, close the batch). Nothing
 * may be added to the batch in between. A failed record leaves the batch open (a later call
 * may submit it); a failed submit closes it (its bytes never reach the GPU). */
typedef struct sedx__batch_rec {
    sedx_cmd cmd;
    bool open, scatter;
} sedx__batch_rec;
sedx_result sedx__batch_record(sedx_context *ctx, struct sedx__transfer *t, sedx__batch_rec *rec);
sedx_result sedx__batch_send(sedx_context *ctx, struct sedx__transfer *t, sedx__batch_rec *rec, sedx_ticket *out);
sedx_result sedx__submit_ordered(sedx_context *ctx, struct sedx__transfer *t, sedx_cmd *cmd, sedx_ticket *out);
sedx_result sedx__transfer_wait_all(sedx_context *ctx, struct sedx__transfer *t);
/* sedx_ticket_wait, after polling the timeline for up to t->wait_spin_ns (0: at once). */
sedx_result sedx__transfer_wait(sedx_context *ctx, struct sedx__transfer *t, sedx_ticket tk);
/* The next chunk of a large transfer of `total` bytes with `done` moved, at most `chunk`: with
 * t->ramp the first chunks grow from chunk / 16 and the last ones shrink to it, so that less
 * of the transfer runs one half of the pipeline alone (the first chunk's CPU copy or DMA, the
 * last one's). */
uint64_t sedx__chunk_next(const struct sedx__transfer *t, uint64_t chunk, uint64_t done, uint64_t total);
void sedx__barrier(VkCommandBuffer cb, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                   VkPipelineStageFlags dst_stage, VkAccessFlags dst_access);
void sedx__barrier_before(VkCommandBuffer cb, bool compute);
void sedx__barrier_after(VkCommandBuffer cb, bool compute);

/* ------------------------------------------------------------------------------------------
 * image_upload.c: the image part of the open batch (lock held for all)
 * ---------------------------------------------------------------------------------------- */
/* Records the batch's image pieces with their layout transitions into cb. */
void sedx__batch_record_images(struct sedx__transfer *t, VkCommandBuffer cb, VkBuffer ring_buf);
/* After the submit (ok: it was submitted with ticket): the images record the use, the batch's
 * references go, the image part of the batch is empty. */
void sedx__batch_close_images(struct sedx__transfer *t, bool ok, sedx_ticket ticket);
/* A layout barrier over range of image (ownership unchanged); sedx__image_barrier: every layer
 * and aspect of levels [base_level, + levels) of a sedx image. */
void sedx__image_range_barrier(VkCommandBuffer cb, VkImage image, const VkImageSubresourceRange *range,
                               VkImageLayout from, VkImageLayout to, VkPipelineStageFlags src_stage,
                               VkAccessFlags src_access, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access);
void sedx__image_barrier(VkCommandBuffer cb, const sedx_image_resource *img, uint32_t base_level, uint32_t levels,
                         VkImageLayout from, VkImageLayout to, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                         VkPipelineStageFlags dst_stage, VkAccessFlags dst_access);
/* Whether img's copies may run on the transfer-only queue: the family copies at texel
 * granularity (asked once), the image is shared with it (concurrent) and has a colour aspect
 * only (depth/stencil copies need a graphics queue). */
bool sedx__image_on_transfer_queue(sedx_context *ctx, struct sedx__transfer *t, const sedx_image_resource *img);
/* The checks of one image region (with its defaults applied into *out). */
sedx_result sedx__check_image_region(const sedx_image_resource *img, const sedx_image_region *in, bool upload,
                                     sedx_image_region *out, sedx__block *block, const char *what);

/* ------------------------------------------------------------------------------------------
 * readback_async.c: state of sedx_download_async (created and freed with the layer)
 * ---------------------------------------------------------------------------------------- */
sedx_result sedx__readback_create(sedx_context *ctx, struct sedx__transfer *t);
void sedx__readback_destroy(sedx_context *ctx, struct sedx__transfer *t);

/* ------------------------------------------------------------------------------------------
 * checks.c: argument checks shared by uploads, readback and copies
 * ---------------------------------------------------------------------------------------- */
sedx_result sedx__check_range(const sedx_buffer_resource *res, uint64_t offset, uint64_t size, const char *what);
sedx_buffer_resource *sedx__check_buffer(sedx_context *ctx, const sedx_buffer *buf, uint64_t offset, uint64_t size,
                                         const char *what, sedx_result *r);
/* Does host memory [p, p + size) overlap bytes [offset, offset + size) of res's mapping? Inline:
 * it runs for every region of a batch. */
static inline bool sedx__host_overlap(const sedx_buffer_resource *res, uint64_t offset, uint64_t size, const void *p)
{
    if (!res->host_ptr || !size || !p) return false;
    uintptr_t a = (uintptr_t)res->host_ptr + (uintptr_t)offset, b = (uintptr_t)p;
    return a < b + size && b < a + size;
}
bool sedx__gpu_idle_for(sedx_context *ctx, sedx_buffer_resource *res);
/* The live sedx buffer behind a raw VkBuffer, with a reference (sedx__buffer_unref it). */
sedx_buffer_resource *sedx__lookup_vk(sedx_context *ctx, VkBuffer buffer, const char *what, sedx_result *r);

#endif
