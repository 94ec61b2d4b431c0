/*
 * sedx transfers: the seed's CopyBuffer and CopyBufferToImage, and the fast path for getting
 * bytes onto and off the GPU: a bounded staging ring, batched uploads with one submit, direct
 * writes into host-visible memory, a compute scatter for many small uploads, the transfer-only
 * queue, and readback.
 *
 * The seed's "staging pool" and "batched pending uploads" (OptimizedBufferModule) are this
 * system: sedx_upload() copies your bytes at once (you may free or reuse them when it returns)
 * and records the copy into the open batch; sedx_upload_submit() submits the batch once and
 * returns a ticket.
 *
 * Thread safety: every function may be called from any thread; uploads from several threads
 * share one batch and one ring and are serialised by a lock (an upload that waits for ring
 * space keeps the others waiting too, until the GPU frees space).
 */
#ifndef SEDX_TRANSFER_H
#define SEDX_TRANSFER_H

#include <sedx/buffer.h>
#include <sedx/image.h>
#include <sedx/context.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Zero-initialised = defaults. Pass it as sedx_context_info.transfer, or to
 * sedx_transfer_configure before the first staged transfer. */
typedef struct sedx_transfer_info {
    uint64_t staging_size;     /* upload ring bytes, >= 64 KiB; 0 = 64 MiB (CPU devices: 16 MiB) */
    uint64_t staging_max;      /* the ring may grow (doubling) up to this when full; 0 = 4 x staging_size;
                                  = staging_size: never grows */
    uint64_t readback_size;    /* readback ring bytes, >= 64 KiB; 0 = 64 MiB (CPU devices: 8 MiB) */
    uint32_t memcpy_threads;   /* threads for large copies, the caller included; 0 = min(cores - 1, 15) + 1;
                                  1 = no extra threads */
    uint32_t flags;            /* sedx_transfer_flag_bits */
} sedx_transfer_info;

typedef enum sedx_transfer_flag_bits {
    SEDX_TRANSFER_NO_TRANSFER_QUEUE = 0x1, /* keep uploads on the main queue */
    SEDX_TRANSFER_NO_DIRECT = 0x2,         /* never write straight into host-visible buffers */
    SEDX_TRANSFER_NO_SCATTER = 0x4,        /* never use the compute scatter (copy regions only) */
    SEDX_TRANSFER_NO_IMPORT = 0x8,         /* reserved: sedx does not import user memory yet (docs/transfer.md) */
    SEDX_TRANSFER_FORCE_COMPUTE_COPY = 0x10, /* device copies always by compute shader (when possible) */
    SEDX_TRANSFER_FORCE_COPY_COMMAND = 0x20, /* device copies always by vkCmdCopyBuffer */
    SEDX_TRANSFER_FORCE_SCATTER = 0x40,      /* small-upload scatter on any device (default: discrete GPUs) */
    SEDX_TRANSFER_CACHED_STAGING = 0x80      /* the staging ring in HOST_CACHED memory where a type has it
                                                (default: write-combined; see docs/reserve.md) */
} sedx_transfer_flag_bits;
#define SEDX_TRANSFER_FLAGS_ALL 0xFFu /* every bit above */

/* Replaces the transfer settings of ctx while nothing depends on them yet (no staging or
 * readback ring exists, nothing is recorded or submitted): SEDX_ERROR_BUSY afterwards. Unknown
 * flags, both FORCE copy flags, memcpy_threads > 16, staging_max below staging_size:
 * SEDX_ERROR_INVALID_ARGUMENT; a ring size below 64 KiB: SEDX_ERROR_INVALID_SIZE. A refused
 * call changes nothing. Thread-safe. */
SEDX_API sedx_result sedx_transfer_configure(sedx_context *ctx, const sedx_transfer_info *info);

/* ------------------------------------------------------------------------------------------
 * The seed's calls (blocking: they return when the GPU has finished)
 * ---------------------------------------------------------------------------------------- */
/* The seed's CopyBuffer: records one copy, submits and waits. Also waits for the open upload
 * batch so the order of your calls is the order on the GPU. src and dst must be VkBuffers of
 * sedx buffers of ctx (sedx_buffer_vk): anything else is SEDX_ERROR_INVALID_HANDLE (NULL:
 * SEDX_ERROR_INVALID_ARGUMENT). The same checks as sedx_gpu_copy: a range past either buffer's size
 * SEDX_ERROR_OUT_OF_BOUNDS, overlapping ranges in one buffer SEDX_ERROR_INVALID_ARGUMENT, size 0
 * SEDX_ERROR_INVALID_SIZE. */
SEDX_API sedx_result sedx_copy_buffer(sedx_context *ctx, VkBuffer src, VkBuffer dst, VkDeviceSize size);
SEDX_API sedx_result sedx_copy_buffer_offsets(sedx_context *ctx, VkBuffer src, VkDeviceSize src_offset, VkBuffer dst,
                                              VkDeviceSize dst_offset, VkDeviceSize size);

/* The seed's CopyBufferToImage for a whole 2D colour image, mip 0, layer 0, tightly packed at
 * buffer offset 0: transitions UNDEFINED -> TRANSFER_DST_OPTIMAL -> SHADER_READ_ONLY_OPTIMAL
 * (the seed leaves the layouts to the caller). `buffer` must be a sedx buffer of ctx holding
 * width * height * 4 bytes: the seed's form assumes 4-byte texels (RGBA8); for any other format
 * use sedx_copy_buffer_to_image_ex with .format.
 * When `image` is a sedx image (<sedx/image.h>), both calls check against the image itself
 * (format, levels, layers, level extents: the description's fields are replaced), start from
 * the layout sedx tracks for it when current_layout is UNDEFINED, and leave that layout set to
 * final_layout, as sedx_upload_image does. Prefer sedx_upload_image: no staging buffer of
 * your own, any set of levels and layers in one call. */
SEDX_API sedx_result sedx_copy_buffer_to_image(sedx_context *ctx, VkBuffer buffer, VkImage image, uint32_t width,
                                               uint32_t height);

typedef enum sedx_image_copy_flag_bits {
    /* current_layout UNDEFINED throws the image's old contents away, also outside the region:
     * say so with this flag when the region does not cover the whole mip level. */
    SEDX_IMAGE_COPY_DISCARD = 0x1
} sedx_image_copy_flag_bits;
#define SEDX_IMAGE_COPY_FLAGS_ALL 0x1u

/* One region. sedx cannot query a VkImage it did not create, so the image is described here
 * and the copy is checked against that description (and the buffer against its real size). */
typedef struct sedx_buffer_image_copy {
    uint64_t buffer_offset;         /* a multiple of the texel block size (4 for depth/stencil) */
    uint32_t buffer_row_length;     /* texels; 0 = tightly packed */
    uint32_t buffer_image_height;   /* texels; 0 = tightly packed */
    VkImageAspectFlags aspect;      /* one of COLOR (0 = COLOR), DEPTH, STENCIL */
    uint32_t mip_level;
    uint32_t base_array_layer;
    uint32_t layer_count;           /* 0 = 1 */
    VkOffset3D image_offset;
    VkExtent3D image_extent;        /* the region; depth 0 = 1 */
    VkExtent3D mip_extent;          /* the whole mip level, for the bounds check; depth 0 = 1 */
    VkImageLayout current_layout;   /* UNDEFINED (0) discards the old contents: see SEDX_IMAGE_COPY_DISCARD */
    VkImageLayout final_layout;     /* 0 (UNDEFINED) = SHADER_READ_ONLY_OPTIMAL */
    VkFormat format;                /* the image's format; 0 = VK_FORMAT_R8G8B8A8_UNORM */
    uint32_t mip_levels;            /* the image's mip levels; 0 = 1 */
    uint32_t array_layers;          /* the image's array layers; 0 = 1 */
    uint32_t flags;                 /* sedx_image_copy_flag_bits */
} sedx_buffer_image_copy;
/* Checks, each with its code (docs/errors.md): `buffer` not a sedx buffer of ctx
 * SEDX_ERROR_INVALID_HANDLE; the bytes the region reads (format block size, row length, image
 * height, extent, layers) past the buffer's end, mip_level >= mip_levels, layers past
 * array_layers, region outside mip_extent: SEDX_ERROR_OUT_OF_BOUNDS; a misaligned
 * buffer_offset SEDX_ERROR_INVALID_ALIGNMENT; zero extent, row length or image height below
 * the extent, a format sedx has no block size for, compressed regions not on block
 * boundaries, unknown flags, UNDEFINED current_layout on part of a mip level without
 * SEDX_IMAGE_COPY_DISCARD: SEDX_ERROR_INVALID_ARGUMENT. */
SEDX_API sedx_result sedx_copy_buffer_to_image_ex(sedx_context *ctx, VkBuffer buffer, VkImage image,
                                                  const sedx_buffer_image_copy *region);

/* ------------------------------------------------------------------------------------------
 * Uploads: the fast path
 * ---------------------------------------------------------------------------------------- */
typedef enum sedx_upload_flag_bits {
    /* If the staging ring is full, return SEDX_ERROR_OUT_OF_STAGING instead of waiting for
     * the GPU (the upload is not recorded; nothing was written). */
    SEDX_UPLOAD_NO_WAIT = 0x1
} sedx_upload_flag_bits;
#define SEDX_UPLOAD_FLAGS_ALL 0x1u /* every bit above; others: SEDX_ERROR_INVALID_ARGUMENT */

/* Copies size bytes from data into dst at offset (Vulkan's order, as vkCmdUpdateBuffer: buffer,
 * offset, size, data). Returns when data may be reused: the bytes are in the destination
 * already (direct path: dst is host-visible and the GPU is not using it) or in the staging ring,
 * with the copy recorded in the open batch. Large uploads are split into chunks and submitted as
 * they go, so CPU copies overlap the GPU's. Every sedx buffer is a transfer destination.
 * Errors: past the end (offset wrap-around included) SEDX_ERROR_OUT_OF_BOUNDS; data NULL with
 * size > 0, data overlapping [offset, offset + size) of dst's own mapping, unknown flags:
 * SEDX_ERROR_INVALID_ARGUMENT; released buffer SEDX_ERROR_INVALID_HANDLE; another context's
 * buffer SEDX_ERROR_WRONG_CONTEXT; with SEDX_UPLOAD_NO_WAIT and a full ring
 * SEDX_ERROR_OUT_OF_STAGING. On an error nothing was written and the batch is intact. */
SEDX_API sedx_result sedx_upload(sedx_context *ctx, const sedx_buffer *dst, uint64_t offset, uint64_t size,
                                 const void *data);
SEDX_API sedx_result sedx_upload_ex(sedx_context *ctx, const sedx_buffer *dst, uint64_t offset, uint64_t size,
                                    const void *data, uint32_t flags);
/* The seed's batched pending uploads, all or nothing: every region is checked first (any error:
 * nothing is written), then everything the batch could run out of is prepared (ring, room for
 * its regions); small staged regions are copied into the ring in parallel over the transfer
 * threads. Same result as calling sedx_upload for each region in order (later regions win where
 * they overlap). Only a lost device can stop it halfway. */
typedef struct sedx_upload_region {
    const sedx_buffer *dst;
    uint64_t offset;
    uint64_t size;
    const void *data;
} sedx_upload_region;
SEDX_API sedx_result sedx_upload_batch(sedx_context *ctx, const sedx_upload_region *regions, uint32_t count);

/* Submits the open batch (with the barriers that make the writes visible to every later
 * command on the GPU). out_ticket may be NULL; an empty batch gives the last upload's ticket. */
SEDX_API sedx_result sedx_upload_submit(sedx_context *ctx, sedx_ticket *out_ticket);
/* Submits and waits. */
SEDX_API sedx_result sedx_upload_flush(sedx_context *ctx);
/* Convenience: create a buffer and upload data into it (submitted and waited for). */
SEDX_API sedx_result sedx_buffer_create_with_data(sedx_context *ctx, uint64_t size, sedx_buffer_usage_flags usage,
                                                  sedx_memory_flags memory, const char *name, const void *data,
                                                  sedx_buffer *out);

/* ------------------------------------------------------------------------------------------
 * Zero-copy staging: reserve ring space, produce the bytes in place, commit (docs/reserve.md)
 * ---------------------------------------------------------------------------------------- */
/* A reservation: write exactly `size` bytes at `data` (16-byte aligned), then commit or cancel
 * it. The memory is the staging ring, which is write-combined on discrete GPUs: write it
 * sequentially (or in large aligned blocks), and never read it back (uncached reads are very
 * slow, and its contents before your writes are undefined). The other fields are sedx's own. */
typedef struct sedx_upload_reservation {
    void *data;          /* where to write; NULL once committed / cancelled (size and offset stay) */
    uint64_t size;       /* bytes reserved = bytes the commit copies */
    uint64_t offset;     /* destination offset in the buffer given to sedx_upload_reserve */
    uint64_t handle;     /* generation-checked: stale, double, foreign use -> SEDX_ERROR_INVALID_HANDLE */
    uint32_t context_id;
} sedx_upload_reservation;

/* Reserves size bytes of staging space for a later copy into [offset, offset + size) of dst.
 * Returns at once with out->data; the transfer lock is not held while you write, so other
 * threads keep uploading, submitting and reclaiming: the reservation's bytes stay reserved until
 * it is committed and its batch has completed, or cancelled. The reservation holds a reference
 * to dst's buffer, so a release in between is safe (the commit then reports it). Ring full:
 * waits for the GPU like sedx_upload; with SEDX_UPLOAD_NO_WAIT (sedx_upload_reserve_ex)
 * SEDX_ERROR_OUT_OF_STAGING instead. Space held only by other outstanding reservations is never
 * waited for (that could be this thread's own): SEDX_ERROR_OUT_OF_STAGING.
 * Errors: size 0 or larger than sedx_upload_reserve_limit(ctx): SEDX_ERROR_INVALID_SIZE; past
 * the end (wrap-around included) SEDX_ERROR_OUT_OF_BOUNDS; NULL ctx/out, unknown flags
 * SEDX_ERROR_INVALID_ARGUMENT; released buffer SEDX_ERROR_INVALID_HANDLE; another context's
 * buffer SEDX_ERROR_WRONG_CONTEXT; more than 256 reservations outstanding or committed and
 * not yet completed SEDX_ERROR_OUT_OF_STAGING. On an error *out is zeroed (not a reservation). */
SEDX_API sedx_result sedx_upload_reserve(sedx_context *ctx, const sedx_buffer *dst, uint64_t offset, uint64_t size,
                                         sedx_upload_reservation *out);
SEDX_API sedx_result sedx_upload_reserve_ex(sedx_context *ctx, const sedx_buffer *dst, uint64_t offset,
                                            uint64_t size, uint32_t flags, sedx_upload_reservation *out);
/* Records the copy of the reservation's bytes into the open batch, in call order with every
 * other upload (as if sedx_upload were called now): visible after sedx_upload_submit / _flush
 * to everything later on the GPU. Like sedx_upload it submits the batch once a quarter of the
 * ring is pending. Then *r is spent (data NULL). Errors: a spent (committed, cancelled), stale
 * copy, zeroed or another context's reservation SEDX_ERROR_INVALID_HANDLE (nothing happens);
 * the destination reference released since the reserve SEDX_ERROR_INVALID_HANDLE, nothing
 * written, the reservation given back (spent). */
SEDX_API sedx_result sedx_upload_commit(sedx_context *ctx, sedx_upload_reservation *r);
/* Gives the space back without copying; *r is spent. Same handle errors as the commit. */
SEDX_API sedx_result sedx_upload_cancel(sedx_context *ctx, sedx_upload_reservation *r);
/* The largest size one reservation may have now: a quarter of the staging ring (the size of
 * sedx_upload's pieces; sedx_transfer_get_stats().staging_size / 4 once the ring exists). Larger
 * data: several reservations, committed one after another. 0 for a NULL ctx. */
SEDX_API uint64_t sedx_upload_reserve_limit(sedx_context *ctx);

/* ------------------------------------------------------------------------------------------
 * Readback and device copies
 * ---------------------------------------------------------------------------------------- */
/* Copies [offset, offset + size) of src into dst (host memory). Waits for the GPU. Submits
 * the open upload batch first so earlier uploads are seen. Reads host-visible memory directly
 * only where it is HOST_CACHED; otherwise through the readback ring (never reads
 * device-local memory through a mapping). */
SEDX_API sedx_result sedx_download(sedx_context *ctx, const sedx_buffer *src, uint64_t offset, uint64_t size,
                                   void *dst);
typedef struct sedx_download_region {
    const sedx_buffer *src;
    uint64_t offset, size;
    void *dst;
} sedx_download_region;
SEDX_API sedx_result sedx_download_batch(sedx_context *ctx, const sedx_download_region *regions, uint32_t count);

/* Asynchronous readback (docs/readback.md): the copy is recorded and submitted at once, the
 * bytes wait in the asynchronous readback ring (host-cached memory, readback_size bytes,
 * created on the first request; separate from sedx_download's ring) until you take them.
 * A request is a generation-checked handle: a zeroed, spent (taken, cancelled), stale copy or
 * another context's request is SEDX_ERROR_INVALID_HANDLE, never a crash. */
typedef struct sedx_download_request {
    uint64_t handle;      /* 0 = no request (never made, failed, spent, or a callback request) */
    uint64_t size;        /* bytes sedx_download_result copies */
    uint32_t context_id;
    uint32_t reserved;
} sedx_download_request;

/* Callback form: runs once the GPU has written the bytes, on the thread that next calls
 * sedx_download_poll / _wait / _result / _pump or starts a sedx_download_async* (each callback
 * exactly once, on one thread), with no sedx lock held: it may call any sedx function. data
 * (size bytes, already invalidated) is valid only during the call; the space is freed after. */
typedef void (*sedx_download_fn)(sedx_context *ctx, const void *data, uint64_t size, void *user);

typedef struct sedx_download_async_info {
    const sedx_buffer *src;
    uint64_t offset, size;
    sedx_download_fn callback; /* NULL: take the bytes with sedx_download_result */
    void *user;
} sedx_download_async_info;

/* Records a copy of [offset, offset + size) of src into the ring and submits it (after the
 * open upload batch, so earlier uploads are seen); returns without waiting for the GPU. The
 * bytes are src's contents after every earlier sedx submission and before every later one.
 * src may be released right after: its last use is recorded. Errors (logged; *out zeroed):
 * NULL ctx/out SEDX_ERROR_INVALID_ARGUMENT; released buffer SEDX_ERROR_INVALID_HANDLE; another
 * context's buffer SEDX_ERROR_WRONG_CONTEXT; past the end SEDX_ERROR_OUT_OF_BOUNDS; size 0 or
 * larger than the ring SEDX_ERROR_INVALID_SIZE; ring full (its space belongs to results not
 * taken yet: it never waits) SEDX_ERROR_OUT_OF_STAGING. Thread-safe. */
SEDX_API sedx_result sedx_download_async(sedx_context *ctx, const sedx_buffer *src, uint64_t offset, uint64_t size,
                                         sedx_download_request *out);
/* count requests, one submission, all or nothing (same errors; nothing recorded on any).
 * out: count entries (callback entries are zeroed); NULL only if every info has a callback. */
SEDX_API sedx_result sedx_download_async_batch(sedx_context *ctx, const sedx_download_async_info *infos,
                                               uint32_t count, sedx_download_request *out);
/* SEDX_SUCCESS once the bytes are ready, SEDX_NOT_READY before (also while a recorded request
 * has not been given its submission); never blocks. */
SEDX_API sedx_result sedx_download_poll(sedx_context *ctx, const sedx_download_request *req);
/* Waits up to timeout_ns (UINT64_MAX: forever): SEDX_SUCCESS or SEDX_TIMEOUT. A recorded request
 * not given its submission yet: SEDX_ERROR_BUSY (logged), not waited for. */
SEDX_API sedx_result sedx_download_wait(sedx_context *ctx, const sedx_download_request *req, uint64_t timeout_ns);
/* Copies the req->size bytes into dst and frees the request's ring space; *req becomes spent.
 * Never blocks: SEDX_NOT_READY (request kept) before the GPU is done. dst NULL:
 * SEDX_ERROR_INVALID_ARGUMENT (request kept). Requests may be taken in any order. */
SEDX_API sedx_result sedx_download_result(sedx_context *ctx, sedx_download_request *req, void *dst);
/* Drops a request without reading it (its space is freed once the GPU is done); *req spent. */
SEDX_API sedx_result sedx_download_cancel(sedx_context *ctx, sedx_download_request *req);
/* Runs the callbacks of finished callback requests now; returns how many ran. Never blocks. */
SEDX_API uint32_t sedx_download_pump(sedx_context *ctx);
typedef struct sedx_download_async_stats {
    uint64_t requests, bytes, callbacks, full_errors;
    uint64_t ring_size;      /* 0 until the first request */
    uint64_t ring_used;      /* bytes held by requests (aligned) */
    uint32_t outstanding;    /* requests holding ring space */
    uint32_t unsubmitted;    /* of those, recorded (sedx_download_async_record) and not given a submission yet */
    uint64_t recorded;       /* of requests: recorded into the application's command buffers */
} sedx_download_async_stats;
SEDX_API sedx_result sedx_download_async_get_stats(sedx_context *ctx, sedx_download_async_stats *out);

/* Riding on a submission that happens anyway (docs/readback.md, "In your command buffer"): no
 * sedx submission per request. Records the copy of [offset, offset + size) of src into the ring,
 * with its barriers, into cmd, a command buffer of ctx being recorded (sedx_cmd_begin, not
 * submitted or discarded yet), outside a render pass. The bytes are src's contents as the
 * commands recorded before it in cmd see them (earlier submissions on cmd's queue included;
 * uploads as for your own commands: after their ticket). The request is not ready
 * (poll / result SEDX_NOT_READY) until it is given the submission that carries cmd:
 * sedx_download_async_submitted, or sedx_download_async_submitted_all (which sedx_frame_end
 * calls), and that submission has passed. src is referenced until then (a release meanwhile is
 * safe). Errors (logged; *out zeroed): NULL ctx / cmd / out SEDX_ERROR_INVALID_ARGUMENT; cmd not
 * being recorded on ctx (VK_NULL_HANDLE, submitted, discarded, another context's)
 * SEDX_ERROR_INVALID_ARGUMENT; the buffer, range, size and ring errors of sedx_download_async.
 * Thread-safe (cmd itself is yours to synchronise, as for any vkCmd call). */
SEDX_API sedx_result sedx_download_async_record(sedx_context *ctx, const sedx_cmd *cmd, const sedx_buffer *src,
                                                uint64_t offset, uint64_t size, sedx_download_request *out);
/* The requests (recorded by sedx_download_async_record) were submitted in the submission ticket
 * names (sedx_cmd_submit's ticket): they complete when it passes. All or nothing. Refused
 * (logged, nothing changed): NULL ctx, reqs NULL with count > 0 SEDX_ERROR_INVALID_ARGUMENT;
 * another context's ticket SEDX_ERROR_WRONG_CONTEXT; ticket value 0, a bad queue, a value never
 * submitted, a value submitted before the request was recorded, a request recorded into a
 * command buffer of the other queue, one whose command buffer is not submitted yet, was
 * discarded or failed to submit, a value earlier than that command buffer's submission while
 * the latter has not passed, a request given its submission already (twice, or made by
 * sedx_download_async) SEDX_ERROR_INVALID_ARGUMENT; an empty, spent, stale or another context's
 * request SEDX_ERROR_INVALID_HANDLE. */
SEDX_API sedx_result sedx_download_async_submitted(sedx_context *ctx, const sedx_download_request *reqs,
                                                   uint32_t count, sedx_ticket ticket);
/* Gives every recorded request whose command buffer has been submitted (sedx_cmd_submit) that
 * submission; returns how many. sedx_frame_end calls it. A request whose command buffer is still
 * being recorded is left waiting (a WARN line); one whose command buffer was discarded is
 * dropped (an ERROR line: its handle becomes stale). Never blocks. NULL ctx: 0. */
SEDX_API uint32_t sedx_download_async_submitted_all(sedx_context *ctx);

/* sedx's own copy between two sedx buffers, done by the GPU with the fastest method for the
 * device (a compute shader where it beats the copy command, vkCmdCopyBuffer elsewhere), on the
 * main queue. Unlike the seed's sedx_copy_buffer it takes sedx buffers and need not block:
 * with out_ticket it returns at once with the submission's ticket; out_ticket NULL = wait.
 * Errors: a range past either buffer SEDX_ERROR_OUT_OF_BOUNDS; overlapping ranges in one buffer
 * SEDX_ERROR_INVALID_ARGUMENT; released / another context's buffer SEDX_ERROR_INVALID_HANDLE /
 * SEDX_ERROR_WRONG_CONTEXT. size 0 is a no-op (ticket value 0). */
SEDX_API sedx_result sedx_gpu_copy(sedx_context *ctx, const sedx_buffer *src, uint64_t src_offset,
                                   const sedx_buffer *dst, uint64_t dst_offset, uint64_t size,
                                   sedx_ticket *out_ticket);

/* Many device copies in one submission: the same result as sedx_gpu_copy for each region in
 * order (a region sees what earlier regions wrote), with one command buffer and one ticket. A
 * barrier is recorded between two regions only where the later one reads or writes bytes an
 * earlier one writes, or writes bytes an earlier one reads; independent regions run
 * together. One submission instead of one per copy (docs/transfer.md has what that saves). All or
 * nothing: every region is checked first (the errors of sedx_gpu_copy, and a line naming the
 * region), and one bad region copies nothing. NULL ctx, regions NULL with count > 0
 * SEDX_ERROR_INVALID_ARGUMENT; count 0 or only empty regions: SUCCESS, ticket value 0.
 * out_ticket NULL = wait. Every buffer is kept alive until the ticket passes. */
typedef struct sedx_copy_region {
    const sedx_buffer *src;
    uint64_t src_offset;
    const sedx_buffer *dst;
    uint64_t dst_offset;
    uint64_t size;
} sedx_copy_region;
SEDX_API sedx_result sedx_gpu_copy_batch(sedx_context *ctx, const sedx_copy_region *regions, uint32_t count,
                                         sedx_ticket *out_ticket);

/* Counters for tests and benchmarks. */
/* ------------------------------------------------------------------------------------------
 * Images (<sedx/image.h>; docs/images.md)
 * ---------------------------------------------------------------------------------------- */
/* A box of texels in one mip level and a run of layers, and where its texels are in memory:
 * rows of row_length texels, images of image_height rows, then the next depth slice or layer
 * (the addressing of VkBufferImageCopy). Block-compressed formats count texels too: offsets and
 * extents are whole blocks except where the region ends at the level's edge. */
typedef struct sedx_image_region {
    const void *data;               /* sedx_upload_image reads the texels here; downloads ignore it */
    uint32_t mip_level;
    uint32_t base_array_layer;
    uint32_t layer_count;           /* 0 = 1 */
    VkOffset3D offset;              /* texels in the level */
    VkExtent3D extent;              /* each 0 = to the level's edge from offset */
    uint32_t row_length;            /* texels from one row to the next in memory; 0 = extent.width (whole blocks) */
    uint32_t image_height;          /* rows from one slice/layer to the next; 0 = extent.height (whole blocks) */
    VkImageAspectFlags aspect;      /* 0 = COLOR, or DEPTH for depth(-stencil) formats */
} sedx_image_region;

typedef struct sedx_image_upload_info {
    VkImageLayout final_layout; /* 0 (UNDEFINED) = SHADER_READ_ONLY_OPTIMAL (depth images with DEPTH_STENCIL_ATTACHMENT
                                 * usage: DEPTH_STENCIL_READ_ONLY; images without SAMPLED usage: GENERAL) */
    uint32_t flags;             /* sedx_upload_flag_bits (SEDX_UPLOAD_NO_WAIT) */
} sedx_image_upload_info;

/* Uploads regions of user memory into dst through the staging ring, in the open upload batch
 * (sedx_upload_submit / _flush send it; a region larger than the ring streams through it in
 * pieces, submitted as they fill it). Row pitch and offsets in the ring follow the device's
 * optimalBufferCopy*Alignment and the format's texel block. The image goes from its tracked
 * layout (sedx_image_layout) to TRANSFER_DST_OPTIMAL and then to info->final_layout. Every
 * region is checked before the first byte moves: nothing is written when one is bad
 * (docs/errors.md). Regions of one call must not overlap. info may be NULL. */
SEDX_API sedx_result sedx_upload_image(sedx_context *ctx, const sedx_image *dst, const sedx_image_region *regions,
                                       uint32_t count, const sedx_image_upload_info *info);
/* Fills mip levels 1.. of every layer from level 0 by linear blits on the main queue (after the
 * open batch, so level 0 uploaded just before is used). The format must support linear
 * filtering and blits (SEDX_ERROR_FEATURE_NOT_PRESENT otherwise); the image must hold data
 * (not UNDEFINED) and keeps its tracked layout. Returns after submitting. */
SEDX_API sedx_result sedx_image_generate_mips(sedx_context *ctx, const sedx_image *img);
/* Reads region of src into dst (tightly packed unless row_length / image_height say otherwise),
 * blocking: earlier uploads first, then the image's last use, then the copy through the readback
 * ring in pieces. The image keeps its tracked layout. Single-sample images only. */
SEDX_API sedx_result sedx_download_image(sedx_context *ctx, const sedx_image *src, const sedx_image_region *region,
                                         void *dst);

typedef struct sedx_transfer_stats {
    uint64_t uploads, upload_bytes;
    uint64_t direct_uploads, direct_bytes;     /* written straight into host-visible memory */
    uint64_t staged_bytes;                     /* through the staging ring */
    uint64_t imported_bytes;                   /* DMA from/to imported user memory */
    uint64_t batches, scatter_dispatches, copy_regions;
    uint64_t ring_waits, ring_full_errors, ring_wraps, ring_grows;
    uint64_t downloads, download_bytes, direct_download_bytes;
    uint64_t compute_copies, command_copies;
    uint64_t staging_size, readback_size;
    uint32_t memcpy_threads;
    bool transfer_queue;                       /* uploads go to the transfer-only queue */
    uint64_t image_uploads, image_upload_bytes;     /* sedx_upload_image calls, texel bytes */
    uint64_t image_copy_regions;                    /* pieces recorded (vkCmdCopyBufferToImage regions) */
    uint64_t image_downloads, image_download_bytes;
    uint64_t mip_generations;
    uint64_t image_transfer_queue_regions;          /* of image_copy_regions: run on the transfer-only queue */
    uint64_t mirror_bytes; /* SEDX_SCATTER_MIRROR (a benchmark knob): ring bytes copied to device memory for scatter */
    uint64_t overlap_sorts; /* submitted batches whose regions' granules met, so the exact overlap test sorted them */
} sedx_transfer_stats;
SEDX_API sedx_result sedx_transfer_get_stats(sedx_context *ctx, sedx_transfer_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* SEDX_TRANSFER_H */
