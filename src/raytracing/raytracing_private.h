/* Shared by the ray-tracing layer's files only (src/raytracing/). */
#ifndef SEDX_RAYTRACING_PRIVATE_H
#define SEDX_RAYTRACING_PRIVATE_H

#include "raytracing/raytracing.h"
#include "buffer/buffer.h"
#include "core/core.h"
#include "device/device.h"
#include "core/vk.h"

#include <sedx/transfer.h>

#define TAG "RAYTRACING"

/* One acceleration structure: the Vulkan object and the sedx buffer holding it. */
typedef struct sedx__as {
    sedx_context *ctx;
    VkAccelerationStructureKHR as;
    sedx_buffer storage; /* a reference of its own */
    char *name;          /* never NULL */
    VkBuildAccelerationStructureFlagsKHR build_flags; /* what it was built with (compaction needs ALLOW_COMPACTION) */
} sedx__as;

struct sedx__raytracing {
    sedx__handle_pool handles; /* sedx_acceleration_structure.handle -> sedx__as */
    /* held by a release from its lookup to the handle's free: a concurrent release of another
     * copy then finds the handle dead instead of reading a structure the deletion queue may be
     * freeing (the other calls read their own structures: releasing those meanwhile is the
     * caller's race, as for buffers) */
    pthread_mutex_t release_lock;
};

static inline struct sedx__raytracing *sedx__rt(sedx_context *ctx) { return ctx->layers.raytracing; }
static inline const char *sedx__rt_name(const char *name) { return name && *name ? name : "(unnamed)"; }

/* SEDX_ERROR_FEATURE_NOT_PRESENT (logged with `what`) unless ctx has the feature bit. */
sedx_result sedx__rt_require(sedx_context *ctx, uint32_t feature, const char *what);
/* The start of a call fn(ctx, info, out, ...): SEDX_ERROR_INVALID_ARGUMENT naming the first of the
 * three that is NULL, then sedx__rt_require(ctx, feature, fn). */
sedx_result sedx__rt_begin(sedx_context *ctx, const void *info, const void *out, uint32_t feature, const char *fn);
/* Makes an acceleration structure of type with storage of its own (a sedx buffer of bytes
 * rounded up to 256, the ACCELERATION_STRUCTURE usage, named name); registers it and fills *out. */
sedx_result sedx__as_create(sedx_context *ctx, VkAccelerationStructureTypeKHR type, uint64_t bytes,
                            uint32_t primitives, const char *name, sedx_acceleration_structure *out);
/* Makes the structures copies of as[0..count) will go to: storage of sizes[i] bytes each, named
 * as the originals; on failure none is left. */
sedx_result sedx__as_create_like(sedx_context *ctx, const sedx_acceleration_structure *as, const uint64_t *sizes,
                                 uint32_t count, sedx_acceleration_structure *out);
/* Undoes sedx__as_create at once (the structure was never submitted). */
void sedx__as_discard(sedx_context *ctx, sedx_acceleration_structure *as);
/* The live structure behind as (logged with `what` when stale), or NULL. */
sedx__as *sedx__as_get(sedx_context *ctx, const sedx_acceleration_structure *as, const char *what);
/* The barrier after builds and copies: structure writes to every later command of the queue. */
void sedx__as_barrier(VkCommandBuffer cb);

#endif
