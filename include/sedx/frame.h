/*
 * sedx frames: frames in flight and per-frame transient memory (Granite's per-frame uniform /
 * vertex / index blocks, bgfx's transient buffers, Diligent's dynamic heap, Daxa's ring).
 *
 *     sedx_frame *frame;
 *     sedx_frame_begin(ctx, &frame);          // waits only if this slot's frame is still on the GPU
 *     sedx_transient t;
 *     sedx_transient_alloc(frame, sizeof u, SEDX_BUFFER_USAGE_UNIFORM, &t);
 *     memcpy(t.data, &u, sizeof u);           // bind t.buffer at t.offset (or use t.address)
 *     ... record, sedx_cmd_submit(ctx, &cmd, NULL, &ticket) ...
 *     sedx_frame_end(ctx, frame, ticket);     // the frame's memory is reclaimed once ticket passes
 *
 * A context has frames_in_flight slots (1..4, default 2) used in turn; frame N lives in slot
 * (N - 1) % frames_in_flight. Transient memory is host-visible (device-local host-visible while
 * the heap's budget allows, else host memory), persistently mapped, cut from linear blocks that
 * the frame takes from a pool shared by all slots; everything a frame allocated is reclaimed at
 * the begin of the frame that reuses its slot, after the GPU has passed the frame's ticket.
 *
 * Thread safety: sedx_transient_alloc may be called from any number of threads at once on the
 * frame being recorded (lock-free: a per-thread chunk bumped without atomics, one atomic add
 * per chunk or large request; a lock only to add a block).
 * sedx_frame_begin / sedx_frame_end are called by one thread at a time (the frame's owner);
 * allocations must not race with the sedx_frame_end of their frame. Every other call is
 * thread-safe. docs/frames.md has the model, the alignment rules and the error table.
 */
#ifndef SEDX_FRAME_H
#define SEDX_FRAME_H

#include <sedx/buffer.h>
#include <sedx/context.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEDX_MAX_FRAMES_IN_FLIGHT 4u

typedef enum sedx_frame_flag_bits {
    /* Blocks in host memory even where device-local host-visible (ReBAR) memory exists. */
    SEDX_FRAME_HOST_MEMORY = 0x1
} sedx_frame_flag_bits;
#define SEDX_FRAME_FLAGS_ALL 0x1u /* every bit above; others: SEDX_ERROR_INVALID_ARGUMENT */

/* Zero-initialised = defaults. */
typedef struct sedx_frame_info {
    uint32_t frames_in_flight; /* 1..SEDX_MAX_FRAMES_IN_FLIGHT; 0 = 2 */
    uint32_t flags;            /* sedx_frame_flag_bits */
    /* Bytes per transient block and the largest single allocation; 4 KiB .. 256 MiB, a
     * multiple of 256; 0 = 1 MiB. */
    uint64_t block_size;
    /* A block nobody used for this many frames is given back to the allocator; 0 = 8. */
    uint32_t idle_frames;
} sedx_frame_info;

/* Replaces the frame settings of ctx before its first sedx_frame_begin (SEDX_ERROR_BUSY after).
 * Refused, changing nothing: NULL ctx / info, frames_in_flight > 4 or unknown flags
 * SEDX_ERROR_INVALID_ARGUMENT; block_size outside 4 KiB .. 256 MiB or not a multiple of 256
 * SEDX_ERROR_INVALID_SIZE. Thread-safe. */
SEDX_API sedx_result sedx_frames_configure(sedx_context *ctx, const sedx_frame_info *info);

typedef struct sedx_frame sedx_frame; /* one of the context's slots; valid from begin to end */

/* Starts the next frame in *out. When the slot it reuses still holds a frame the GPU has not
 * passed, waits for that frame's ticket (counted in sedx_frame_stats); then reclaims
 * everything that frame allocated. Refused (logged; *out = NULL): NULL arguments
 * SEDX_ERROR_INVALID_ARGUMENT; a frame begun and not ended SEDX_ERROR_BUSY (that frame stays
 * valid). A failed wait (SEDX_ERROR_DEVICE_LOST) is returned as is. */
SEDX_API sedx_result sedx_frame_begin(sedx_context *ctx, sedx_frame **out);

/* Ends frame: ticket is its last submission that uses its transient memory (sedx_cmd_submit's
 * ticket); ticket.value == 0 means "everything submitted through sedx so far", the submitted
 * value of every queue. Refused (logged; the frame stays open, so correct and call again):
 * NULL ctx SEDX_ERROR_INVALID_ARGUMENT; frame NULL, not one of ctx's frames, never begun or
 * already ended SEDX_ERROR_INVALID_HANDLE; another context's ticket SEDX_ERROR_WRONG_CONTEXT;
 * a ticket with a bad queue or a value never submitted SEDX_ERROR_INVALID_ARGUMENT. */
SEDX_API sedx_result sedx_frame_end(sedx_context *ctx, sedx_frame *frame, sedx_ticket ticket);

/* The frame's number (1, 2, 3, ... in begin order) and slot index; 0 / UINT32_MAX when
 * frame is not an open frame. */
SEDX_API uint64_t sedx_frame_number(const sedx_frame *frame);
SEDX_API uint32_t sedx_frame_slot(const sedx_frame *frame);

/* ------------------------------------------------------------------------------------------
 * Transient memory
 * ---------------------------------------------------------------------------------------- */
/* The usages a transient allocation may name. */
#define SEDX_TRANSIENT_USAGE_ALL                                                                  \
    ((uint32_t)(SEDX_BUFFER_USAGE_UNIFORM | SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_UNIFORM_TEXEL | \
                SEDX_BUFFER_USAGE_STORAGE_TEXEL | SEDX_BUFFER_USAGE_INDEX | SEDX_BUFFER_USAGE_VERTEX |    \
                SEDX_BUFFER_USAGE_INDIRECT | SEDX_BUFFER_USAGE_TRANSFER_SRC | SEDX_BUFFER_USAGE_ADDRESS))

/* A piece of a frame's transient memory. Valid until the frame's slot is reused (the begin of
 * frame number + frames_in_flight); writes through data are seen by the GPU without a flush
 * where the memory is coherent (else sedx_frame_flush before submitting). */
typedef struct sedx_transient {
    VkBuffer buffer;         /* bind at offset (a dynamic offset, or VkDescriptorBufferInfo.offset) */
    uint64_t offset;         /* aligned for the usage (docs/frames.md) */
    uint64_t size;           /* as requested */
    void *data;              /* mapped: write size bytes here */
    VkDeviceAddress address; /* of data on the GPU; 0 without buffer device address */
    uint64_t frame;          /* the frame number that allocated it (its generation) */
    uint32_t context_id;
    uint32_t reserved;
} sedx_transient;

/* size bytes for usage (sedx_buffer_usage_bits within SEDX_TRANSIENT_USAGE_ALL) in frame.
 * Lock-free. Refused (logged, *out untouched): frame or out NULL SEDX_ERROR_INVALID_ARGUMENT;
 * frame not open SEDX_ERROR_INVALID_HANDLE; size 0 or larger than block_size
 * SEDX_ERROR_INVALID_SIZE; usage 0 or bits outside SEDX_TRANSIENT_USAGE_ALL
 * SEDX_ERROR_INVALID_USAGE. A new block that cannot be allocated returns the allocator's code
 * (SEDX_ERROR_OUT_OF_DEVICE_MEMORY, ...). */
SEDX_API sedx_result sedx_transient_alloc(sedx_frame *frame, uint64_t size, sedx_buffer_usage_flags usage,
                                          sedx_transient *out);

/* SEDX_SUCCESS while t's frame is open or on the GPU (its slot not reused yet);
 * SEDX_ERROR_INVALID_HANDLE (logged with both frame numbers) once its slot was reused or for a
 * transient never allocated; SEDX_ERROR_WRONG_CONTEXT for another context's;
 * SEDX_ERROR_INVALID_ARGUMENT for NULL. SEDX_TRANSIENT_DEBUG_CHECK compiles to it in debug
 * builds and to SEDX_SUCCESS with NDEBUG. */
SEDX_API sedx_result sedx_transient_check(sedx_context *ctx, const sedx_transient *t);
#ifdef NDEBUG
#  define SEDX_TRANSIENT_DEBUG_CHECK(ctx, t) ((void)(ctx), (void)(t), SEDX_SUCCESS)
#else
#  define SEDX_TRANSIENT_DEBUG_CHECK(ctx, t) sedx_transient_check((ctx), (t))
#endif

/* Flushes everything frame allocated so far where the memory is not coherent (no-op
 * otherwise): call before submitting work that reads it. Same refusals as sedx_frame_end. */
SEDX_API sedx_result sedx_frame_flush(sedx_context *ctx, sedx_frame *frame);

/* ------------------------------------------------------------------------------------------
 * Statistics
 * ---------------------------------------------------------------------------------------- */
typedef struct sedx_frame_stats {
    uint32_t frames_in_flight;
    uint32_t alignment;          /* every transient offset and size is a multiple of it */
    uint64_t block_size;
    uint64_t frames_begun, frames_ended;
    uint64_t waits;              /* begins that had to wait for the GPU */
    uint64_t wait_ns_total, wait_ns_max, wait_ns_last; /* wait_ns_last: the latest begin (0 = did not wait) */
    uint32_t blocks_live;        /* blocks held (in frames and in the pool) */
    uint32_t blocks_free;        /* of those, in the pool */
    uint64_t blocks_created, blocks_released;
    uint64_t last_frame_bytes;   /* bytes the latest ended frame took (alignment and chunk tails included) */
    uint64_t peak_frame_bytes;
    uint32_t last_frame_blocks;  /* blocks the latest ended frame used */
    bool device_local;           /* the latest block is in device-local memory */
    bool coherent;               /* false: sedx_frame_flush is needed */
    /* Of last_frame_bytes: reserved by per-thread chunks and left unused (docs/frames.md). */
    uint64_t last_frame_chunk_tail_bytes;
} sedx_frame_stats;

/* NULL arguments: SEDX_ERROR_INVALID_ARGUMENT. Thread-safe. */
SEDX_API sedx_result sedx_frame_get_stats(sedx_context *ctx, sedx_frame_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* SEDX_FRAME_H */
