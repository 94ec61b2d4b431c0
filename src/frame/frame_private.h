/* The frame layer's own state. For the files of src/frame only. */
#ifndef SEDX_FRAME_FRAME_PRIVATE_H
#define SEDX_FRAME_FRAME_PRIVATE_H

#include "frame/frame.h"

#define TAG "FRAME"
#define FRAME_MAGIC 0x5EDF7A3Eu
#define FRAME_DEFAULT_BLOCK (1ull << 20)
#define FRAME_MIN_BLOCK (4ull << 10)
#define FRAME_MAX_BLOCK (256ull << 20)
#define FRAME_DEFAULT_IDLE 8u

/* One linear block: a sedx buffer (internal), persistently mapped. head is bumped with one
 * atomic add per thread chunk or large allocation (a compare-and-swap extends a chunk in place
 * or gives its tail back) and may run past size (the reservation that crossed the end and every
 * later one then go to a new block). */
typedef struct frame_block {
    _Alignas(64) _Atomic uint64_t head;
    _Alignas(64) sedx_buffer buffer;
    uint8_t *ptr;
    VkBuffer vk;
    VkDeviceAddress address;
    uint64_t size;
    uint64_t last_used;          /* frame number when it was last taken or reclaimed (the pool's age) */
    bool coherent, device_local;
} frame_block;

enum { SLOT_IDLE = 0, SLOT_RECORDING = 1, SLOT_IN_FLIGHT = 2 };

/* Per-thread chunks (transient.c). A thread's first small allocation in a frame claims one of
 * the slot's FRAME_CHUNK_THREADS chunk records (one atomic add per thread and frame); the record
 * holds the range [head, end) of a block the thread reserved with one atomic add and bumps
 * without atomics. Only its owning thread touches a record while the frame is open; the frame's
 * owner reads them at sedx_frame_end (after the threads' allocations, by the frame model). */
#define FRAME_CHUNK_THREADS 64u        /* later threads of a frame use the shared bump */
#define FRAME_CHUNK_MIN (2ull << 10)   /* a thread's first chunk in a frame; doubles per refill */
#define FRAME_CHUNK_MAX (64ull << 10)  /* and at most this (and block_size / 8) */
#define FRAME_TLS_WAYS 16u             /* entries of a thread's chunk cache (a power of two) */
typedef struct frame_chunk {
    uint64_t head, end;          /* the thread's free range in block: offsets, head <= end */
    uint8_t *ptr;                /* block->ptr */
    VkBuffer vk;                 /* block->vk */
    VkDeviceAddress address;     /* block->address (0 = none) */
    frame_block *block;          /* NULL before the first chunk */
    uint64_t next;               /* size of the next chunk to reserve */
    uint64_t waste;              /* tails of earlier chunks that could not be given back */
} frame_chunk; /* 64 bytes: one cache line */

struct sedx_frame {
    /* the allocation fast path reads this first cache line only (and the thread's chunk) */
    uint32_t magic;
    _Atomic uint32_t state;
    uint32_t index;
    uint32_t context_id;
    _Atomic uint64_t gen;           /* process-wide unique per begin: keys the threads' chunk caches */
    _Atomic uint64_t number;        /* generation: the frame number using the slot, 0 = never */
    uint64_t granule;               /* copy of owner->granule, on the hot path's cache line */
    uint64_t chunk_small;           /* requests up to this many bytes go through per-thread chunks */
    uint32_t tls_way;               /* which entry of a thread's chunk cache this slot uses */
    uint64_t chunk_max;             /* largest chunk */
    /* the rest (read-only while the frame is open, but for these) */
    _Atomic uint32_t chunk_count;   /* chunk records claimed in this frame (may pass the capacity) */
    frame_chunk *chunks;            /* FRAME_CHUNK_THREADS records, one cache line each, in chunk_mem */
    struct sedx__frame *owner;
    _Atomic(frame_block *) current; /* the block being bumped; NULL until the first allocation */
    uint64_t max_size;              /* copy of owner->block_size */
    frame_block **blocks;           /* every block this frame used, current last (lock) */
    uint32_t block_count, block_cap;
    uint64_t after[SEDX_QUEUE_COUNT]; /* timeline values to pass before the slot is reused */
    /* the records' storage: the slots are not cache-line aligned, the records are (no false
     * sharing between threads bumping their chunks) */
    unsigned char chunk_mem[(FRAME_CHUNK_THREADS + 1u) * 64u];
};

struct sedx__frame {
    sedx_context *ctx;
    pthread_mutex_t lock;           /* configuration, begin/end, adding blocks, the pool, stats */
    sedx_frame_info info;           /* after defaults */
    bool started;                   /* a frame was begun: the settings are fixed */
    uint64_t granule;               /* alignment of every offset and size */
    uint64_t frame_count;           /* frames begun */
    sedx_frame *recording;          /* the open frame, NULL = none */
    sedx_frame slots[SEDX_MAX_FRAMES_IN_FLIGHT];
    frame_block **pool;             /* free blocks, most recently used last */
    uint32_t pool_count, pool_cap;
    uint32_t blocks_live;
    sedx_frame_stats stats;
};

static inline struct sedx__frame *sedx__frames(sedx_context *ctx) { return ctx->layers.frame; }

/* transient.c */
sedx_result sedx__frame_grow(sedx_frame *f, frame_block *seen);
void sedx__frame_block_free(struct sedx__frame *fl, frame_block *b);
/* Moves every block of slot f into the pool (its frame is over); lock held. */
void sedx__frame_reclaim_locked(struct sedx__frame *fl, sedx_frame *f);
/* Gives back pool blocks idle for more than idle_frames frames; lock held. */
void sedx__frame_trim_locked(struct sedx__frame *fl);
/* A pool block (or NULL) to start frame f with / a block back into the pool; lock held. */
frame_block *sedx__frame_pool_pop_locked(struct sedx__frame *fl);
void sedx__frame_pool_push_locked(struct sedx__frame *fl, frame_block *b);
/* Appends b to f's blocks (false: out of host memory); lock held. */
bool sedx__frame_push_block_locked(sedx_frame *f, frame_block *b);
/* The unused ends of frame f's per-thread chunks (sedx_frame_stats.last_frame_chunk_tail_bytes);
 * called by sedx_frame_end after the frame's allocations, lock held. */
uint64_t sedx__frame_chunk_tails_locked(const sedx_frame *f);
/* Validates ctx and frame without dereferencing a pointer that is not one of ctx's slots. */
sedx_result sedx__frame_check(sedx_context *ctx, const sedx_frame *frame, const char *what);

#endif
