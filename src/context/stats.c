/*
 * One JSON document with every layer's statistics: the allocator's dump (blocks, allocations of
 * buffers and images by name and kind, budgets), the transfer layer (uploads, image uploads and
 * readbacks, rings), the asynchronous readback, the frames and their transient memory, and the
 * live buffer and image counts. The composite can ask every layer; no layer asks another.
 */
#include "context/context.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#define TAG "CONTEXT"

#define NUM(o, s, f) cJSON_AddNumberToObject(o, #f, (double)(s).f)

static void add_transfer(cJSON *root, const sedx_transfer_stats *s)
{
    cJSON *o = cJSON_AddObjectToObject(root, "transfer");
    NUM(o, *s, uploads); NUM(o, *s, upload_bytes); NUM(o, *s, direct_uploads); NUM(o, *s, direct_bytes);
    NUM(o, *s, staged_bytes); NUM(o, *s, batches); NUM(o, *s, scatter_dispatches); NUM(o, *s, copy_regions);
    NUM(o, *s, ring_waits); NUM(o, *s, ring_full_errors); NUM(o, *s, ring_wraps); NUM(o, *s, ring_grows);
    NUM(o, *s, downloads); NUM(o, *s, download_bytes); NUM(o, *s, direct_download_bytes);
    NUM(o, *s, compute_copies); NUM(o, *s, command_copies); NUM(o, *s, staging_size); NUM(o, *s, readback_size);
    NUM(o, *s, memcpy_threads);
    cJSON_AddBoolToObject(o, "transfer_queue", s->transfer_queue);
    NUM(o, *s, image_uploads); NUM(o, *s, image_upload_bytes); NUM(o, *s, image_copy_regions);
    NUM(o, *s, image_downloads); NUM(o, *s, image_download_bytes); NUM(o, *s, mip_generations);
    NUM(o, *s, image_transfer_queue_regions);
}

static void add_readback(cJSON *root, const sedx_download_async_stats *s)
{
    cJSON *o = cJSON_AddObjectToObject(root, "readback_async");
    NUM(o, *s, requests); NUM(o, *s, bytes); NUM(o, *s, callbacks); NUM(o, *s, full_errors);
    NUM(o, *s, ring_size); NUM(o, *s, ring_used); NUM(o, *s, outstanding); NUM(o, *s, unsubmitted);
    NUM(o, *s, recorded);
}

static void add_frames(cJSON *root, const sedx_frame_stats *s)
{
    cJSON *o = cJSON_AddObjectToObject(root, "frames");
    NUM(o, *s, frames_in_flight); NUM(o, *s, alignment); NUM(o, *s, block_size); NUM(o, *s, frames_begun);
    NUM(o, *s, frames_ended); NUM(o, *s, waits); NUM(o, *s, wait_ns_total); NUM(o, *s, wait_ns_max);
    NUM(o, *s, blocks_live); NUM(o, *s, blocks_free); NUM(o, *s, blocks_created); NUM(o, *s, blocks_released);
    NUM(o, *s, last_frame_bytes); NUM(o, *s, peak_frame_bytes); NUM(o, *s, last_frame_blocks);
    NUM(o, *s, last_frame_chunk_tail_bytes);
    cJSON_AddBoolToObject(o, "device_local", s->device_local);
    cJSON_AddBoolToObject(o, "coherent", s->coherent);
}

sedx_result sedx_stats_json(sedx_context *ctx, char **out_json)
{
    if (!ctx || !out_json)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_stats_json: %s is NULL", !ctx ? "ctx" : "out_json");
    char *memory = NULL;
    sedx_transfer_stats ts;
    sedx_download_async_stats rs;
    sedx_frame_stats fs;
    sedx_result r = sedx_memory_dump_json(ctx, &memory);
    if (r == SEDX_SUCCESS) r = sedx_transfer_get_stats(ctx, &ts);
    if (r == SEDX_SUCCESS) r = sedx_download_async_get_stats(ctx, &rs);
    if (r == SEDX_SUCCESS) r = sedx_frame_get_stats(ctx, &fs);
    cJSON *root = r == SEDX_SUCCESS ? cJSON_CreateObject() : NULL;
    cJSON *mem = root ? cJSON_Parse(memory) : NULL;
    char *text = NULL;
    if (root && mem) {
        cJSON_AddStringToObject(root, "device", ctx->props.deviceName);
        cJSON_AddNumberToObject(root, "live_buffers", sedx_buffer_list(ctx, NULL, NULL));
        cJSON_AddNumberToObject(root, "live_images", sedx_image_count(ctx));
        add_transfer(root, &ts);
        add_readback(root, &rs);
        add_frames(root, &fs);
        cJSON_AddItemToObject(root, "memory", mem);
        mem = NULL;
        text = cJSON_Print(root);
    }
    if (r == SEDX_SUCCESS && !text) r = SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_stats_json: out of host memory");
    cJSON_Delete(mem);
    cJSON_Delete(root);
    sedx_memory_free_string(memory);
    if (r != SEDX_SUCCESS) return r;
    /* the caller frees with sedx_memory_free_string (sedx's host allocator) */
    size_t n = strlen(text) + 1;
    *out_json = sedx__malloc(n);
    if (*out_json) memcpy(*out_json, text, n);
    cJSON_free(text);
    return *out_json ? SEDX_SUCCESS : SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_stats_json: out of host memory");
}
