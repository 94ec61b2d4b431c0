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
 * atomic add per allocation and may run past size (the allocation that crossed the end and
 * every later one then go to a new block). */
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

struct sedx_frame {
    uint32_t magic;
    _Atomic uint32_t state;
    uint32_t index;
    uint32_t context_id;
    struct sedx__frame *owner;
    _Atomic uint64_t number;        /* generation: the frame number using the slot, 0 = never */
    _Atomic(frame_block *) current; /* the block being bumped; NULL until the first allocation */
    uint64_t granule;               /* copy of owner->granule, on the hot path's cache line */
    uint64_t max_size;              /* copy of owner->block_size */
    frame_block **blocks;           /* every block this frame used, current last (lock) */
    uint32_t block_count, block_cap;
    uint64_t after[SEDX_QUEUE_COUNT]; /* timeline values to pass before the slot is reused */
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
/* Validates ctx and frame without dereferencing a pointer that is not one of ctx's slots. */
sedx_result sedx__frame_check(sedx_context *ctx, const sedx_frame *frame, const char *what);

#endif
