/*
 * sedx context: the Vulkan instance, device and queues (created by sedx, or adopted from the
 * application), submissions, timeline semaphores and the deletion queue.
 */
#ifndef SEDX_CONTEXT_H
#define SEDX_CONTEXT_H

#include <sedx/core.h>
#include <vulkan/vulkan.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sedx_context sedx_context;
typedef struct sedx_allocator_info sedx_allocator_info; /* <sedx/memory.h> */
typedef struct sedx_transfer_info sedx_transfer_info;   /* <sedx/transfer.h> */

typedef enum sedx_context_flag_bits {
    /* Enable VK_LAYER_KHRONOS_validation and route its messages to the logger. Also enabled by
     * SEDX_VALIDATION=1 in the environment. Missing layer -> SEDX_ERROR_LAYER_NOT_PRESENT. */
    SEDX_CONTEXT_VALIDATION = 0x1,
    /* Validation with synchronization validation (hazard detection) on. Implies VALIDATION. */
    SEDX_CONTEXT_SYNC_VALIDATION = 0x2,
    /* Ignore SEDX_VALIDATION in the environment (benchmarks). */
    SEDX_CONTEXT_NO_ENV_VALIDATION = 0x4,
    /* Do not use a transfer-only queue even when the device has one. */
    SEDX_CONTEXT_NO_TRANSFER_QUEUE = 0x8,
    /* Do not enable optional features (buffer device address, descriptor indexing, ...). */
    SEDX_CONTEXT_MINIMAL_FEATURES = 0x10,
    /* Do not enable the ray-tracing extensions even when the device has them (<sedx/raytracing.h>). */
    SEDX_CONTEXT_NO_RAY_TRACING = 0x20
} sedx_context_flag_bits;
typedef uint32_t sedx_context_flags;
/* Every bit above; sedx_context_create refuses any other (SEDX_ERROR_INVALID_ARGUMENT). */
#define SEDX_CONTEXT_FLAGS_ALL                                                                   \
    ((uint32_t)(SEDX_CONTEXT_VALIDATION | SEDX_CONTEXT_SYNC_VALIDATION | SEDX_CONTEXT_NO_ENV_VALIDATION | \
                SEDX_CONTEXT_NO_TRANSFER_QUEUE | SEDX_CONTEXT_MINIMAL_FEATURES | SEDX_CONTEXT_NO_RAY_TRACING))

/* Zero-initialised means: headless, validation off unless SEDX_VALIDATION=1, the best device. */
typedef struct sedx_context_info {
    sedx_context_flags flags; /* sedx_context_flag_bits; others: SEDX_ERROR_INVALID_ARGUMENT */
    /* VK_API_VERSION_1_2 or later; 0 = the highest the loader and device offer (1.3 when
     * present). Below 1.2 -> SEDX_ERROR_UNSUPPORTED_VERSION. */
    uint32_t api_version;
    /* Device index or a name substring (case-insensitive); NULL = SEDX_DEVICE from the
     * environment, else the first discrete GPU, else integrated, else anything. */
    const char *device;
    const char *app_name;                 /* NULL = "sedx" */
    const sedx_allocator_info *allocator; /* NULL = allocator defaults */
    const sedx_transfer_info *transfer;   /* NULL = transfer defaults (or sedx_transfer_configure later) */
} sedx_context_info;

/* What an application hands over when sedx runs on its Vulkan objects (not owned by sedx:
 * sedx_context_destroy leaves them alive). The application must have enabled timeline
 * semaphores (Vulkan 1.2 core feature). Queues are used under sedx's own lock; if the
 * application submits to the same VkQueue from other threads it must serialise with
 * sedx_context_lock_queue(). That lock is the context's: two contexts made on one VkQueue each
 * have their own, so submissions of the two may reach the queue at once unless the application
 * serialises them too (give each context its own queue where the family has several). */
typedef struct sedx_vulkan_objects {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    uint32_t api_version;               /* the version the device was created with (>= 1.2; above the device's: the device's) */
    VkQueue graphics_queue;             /* graphics+compute (or compute) queue */
    uint32_t graphics_queue_family;
    VkQueue transfer_queue;             /* optional: VK_NULL_HANDLE (or graphics_queue itself) = none */
    uint32_t transfer_queue_family;
    /* Features the application enabled that sedx may use (sedx_device_feature_bits). */
    uint32_t enabled_features;
} sedx_vulkan_objects;

typedef enum sedx_device_feature_bits {
    SEDX_FEATURE_TIMELINE_SEMAPHORE = 0x001,
    SEDX_FEATURE_SYNCHRONIZATION2 = 0x002,
    SEDX_FEATURE_BUFFER_DEVICE_ADDRESS = 0x004,
    SEDX_FEATURE_DESCRIPTOR_INDEXING = 0x008,
    SEDX_FEATURE_MEMORY_BUDGET = 0x010,
    SEDX_FEATURE_EXTERNAL_MEMORY_HOST = 0x020,
    SEDX_FEATURE_NULL_DESCRIPTOR = 0x040,  /* VK_EXT_robustness2 nullDescriptor */
    SEDX_FEATURE_DEBUG_UTILS = 0x080,
    SEDX_FEATURE_MEMORY_PRIORITY = 0x100,
    SEDX_FEATURE_MAINTENANCE4 = 0x200,
    SEDX_FEATURE_DYNAMIC_RENDERING = 0x400, /* Vulkan 1.3 dynamicRendering (render passes not needed) */
    /* VK_KHR_acceleration_structure (with VK_KHR_deferred_host_operations): the three ray-tracing
     * buffer usages and <sedx/raytracing.h>'s acceleration structures */
    SEDX_FEATURE_ACCELERATION_STRUCTURE = 0x800,
    SEDX_FEATURE_RAY_TRACING_PIPELINE = 0x1000 /* VK_KHR_ray_tracing_pipeline: sedx_sbt_create */
} sedx_device_feature_bits;
/* Every bit above; sedx_context_create_from_vulkan refuses any other in enabled_features. */
#define SEDX_DEVICE_FEATURES_ALL                                                                 \
    ((uint32_t)(SEDX_FEATURE_TIMELINE_SEMAPHORE | SEDX_FEATURE_SYNCHRONIZATION2 |                 \
                SEDX_FEATURE_BUFFER_DEVICE_ADDRESS | SEDX_FEATURE_DESCRIPTOR_INDEXING |           \
                SEDX_FEATURE_MEMORY_BUDGET | SEDX_FEATURE_EXTERNAL_MEMORY_HOST |                  \
                SEDX_FEATURE_NULL_DESCRIPTOR | SEDX_FEATURE_DEBUG_UTILS |                         \
                SEDX_FEATURE_MEMORY_PRIORITY | SEDX_FEATURE_MAINTENANCE4 |                        \
                SEDX_FEATURE_DYNAMIC_RENDERING | SEDX_FEATURE_ACCELERATION_STRUCTURE |            \
                SEDX_FEATURE_RAY_TRACING_PIPELINE))

typedef enum sedx_queue {
    SEDX_QUEUE_GRAPHICS = 0, /* graphics+compute: the main queue */
    SEDX_QUEUE_TRANSFER = 1, /* transfer-only family; falls back to GRAPHICS when absent */
    SEDX_QUEUE_COUNT = 2
} sedx_queue;

/* Unknown bits in info->flags, or an info->allocator that <sedx/memory.h> refuses (unknown
 * flags: SEDX_ERROR_INVALID_ARGUMENT, bad min_alignment: SEDX_ERROR_INVALID_ALIGNMENT), are
 * refused before any Vulkan object is created; *out_ctx is then NULL. */
SEDX_API sedx_result sedx_context_create(const sedx_context_info *info, sedx_context **out_ctx);
/* Adopts the application's objects; allocator may be NULL. Refused with
 * SEDX_ERROR_INVALID_ARGUMENT (logged) before sedx creates anything: a NULL instance, physical
 * device, device or graphics queue; unknown bits in enabled_features (outside
 * SEDX_DEVICE_FEATURES_ALL); a queue family index the physical device does not have. */
SEDX_API sedx_result sedx_context_create_from_vulkan(const sedx_vulkan_objects *objects,
                                                     const sedx_allocator_info *allocator,
                                                     sedx_context **out_ctx);
/* Waits for the GPU, frees everything sedx created, reports leaks. NULL is a no-op. */
SEDX_API void sedx_context_destroy(sedx_context *ctx);

SEDX_API VkInstance sedx_context_instance(const sedx_context *ctx);
SEDX_API VkPhysicalDevice sedx_context_physical_device(const sedx_context *ctx);
SEDX_API VkDevice sedx_context_device(const sedx_context *ctx);
SEDX_API uint32_t sedx_context_api_version(const sedx_context *ctx);
SEDX_API const VkPhysicalDeviceProperties *sedx_context_properties(const sedx_context *ctx);
SEDX_API const VkPhysicalDeviceMemoryProperties *sedx_context_memory_properties(const sedx_context *ctx);
SEDX_API uint32_t sedx_context_features(const sedx_context *ctx); /* sedx_device_feature_bits */
SEDX_API const char *sedx_feature_name(uint32_t single_feature_bit);
/* The queue used for kind (TRANSFER falls back to GRAPHICS when the device has no
 * transfer-only family); family may be NULL. */
SEDX_API VkQueue sedx_context_queue(const sedx_context *ctx, sedx_queue kind, uint32_t *family);
SEDX_API bool sedx_context_has_transfer_queue(const sedx_context *ctx);
SEDX_API void sedx_context_lock_queue(sedx_context *ctx, sedx_queue kind);
SEDX_API void sedx_context_unlock_queue(sedx_context *ctx, sedx_queue kind);

/* Validation: messages counted since creation (0 when validation is off). */
SEDX_API bool sedx_context_validation_enabled(const sedx_context *ctx);
SEDX_API uint32_t sedx_context_validation_error_count(const sedx_context *ctx);
SEDX_API uint32_t sedx_context_validation_warning_count(const sedx_context *ctx);

/* ------------------------------------------------------------------------------------------
 * Timelines. Each queue has a timeline semaphore; every submission through sedx signals the
 * next value of its queue's timeline. A ticket names (queue, value).
 * ---------------------------------------------------------------------------------------- */
typedef struct sedx_ticket {
    uint64_t value;       /* 0 = nothing to wait for */
    uint32_t queue;       /* sedx_queue */
    uint32_t context_id;  /* which context issued it */
} sedx_ticket;

SEDX_API VkSemaphore sedx_context_timeline(const sedx_context *ctx, sedx_queue kind);
/* The value the GPU has reached / the last value submitted. */
SEDX_API uint64_t sedx_context_completed_value(sedx_context *ctx, sedx_queue kind);
SEDX_API uint64_t sedx_context_submitted_value(const sedx_context *ctx, sedx_queue kind);
/* SEDX_SUCCESS, SEDX_NOT_READY; SEDX_ERROR_WRONG_CONTEXT for another context's ticket. */
SEDX_API sedx_result sedx_ticket_poll(sedx_context *ctx, sedx_ticket ticket);
/* timeout_ns = UINT64_MAX waits forever; SEDX_TIMEOUT when it ran out. */
SEDX_API sedx_result sedx_ticket_wait(sedx_context *ctx, sedx_ticket ticket, uint64_t timeout_ns);

/* One-time submit: begin a primary command buffer for queue kind, record into it, then
 * submit it; the submission signals the queue's timeline and the returned ticket. Command
 * buffers are recycled once their ticket has passed. Thread-safe; several threads may record
 * at once (each command buffer has its own pool). At most 64 are in flight per queue: the 65th
 * begin waits for the oldest submission to complete (so never keep more than 63 sedx
 * submissions waiting on something only the waiting thread would signal). */
typedef struct sedx_cmd {
    VkCommandBuffer cmd;
    uint32_t queue;      /* sedx_queue */
    uint32_t slot;       /* internal */
} sedx_cmd;
SEDX_API sedx_result sedx_cmd_begin(sedx_context *ctx, sedx_queue kind, sedx_cmd *out);
/* Optional waits (binary or timeline semaphores). info NULL or wait_count 0: no waits. */
typedef struct sedx_submit_info {
    uint32_t wait_count;                 /* at most 8 */
    const VkSemaphore *wait_semaphores;  /* wait_count handles, none VK_NULL_HANDLE; required */
    const uint64_t *wait_values;         /* NULL = 0 for every wait (binary semaphores) */
    const VkPipelineStageFlags *wait_stages; /* NULL = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT for every wait */
} sedx_submit_info;
/* Ends and submits cmd; on success cmd->cmd becomes VK_NULL_HANDLE and *out_ticket (may be
 * NULL) names the submission.
 * Refused with SEDX_ERROR_INVALID_ARGUMENT (logged), before anything reaches Vulkan:
 *  - cmd not begun on ctx (never begun, already submitted or discarded, another context's);
 *  - wait_count > 8, wait_semaphores NULL with wait_count > 0, a VK_NULL_HANDLE among them.
 * A refused submit leaves cmd intact and still begun, with everything recorded in it: correct
 * info and call sedx_cmd_submit again, or sedx_cmd_discard it (until then it holds one of the
 * queue's 64 command buffers). When a Vulkan call fails (vkEndCommandBuffer, vkQueueSubmit)
 * the command buffer is consumed: cmd->cmd becomes VK_NULL_HANDLE and nothing ran. */
SEDX_API sedx_result sedx_cmd_submit(sedx_context *ctx, sedx_cmd *cmd, const sedx_submit_info *info,
                                     sedx_ticket *out_ticket);
/* Abandons a begun command buffer without submitting it (also after a refused submit);
 * cmd->cmd becomes VK_NULL_HANDLE. A cmd that is not begun on ctx is ignored. */
SEDX_API void sedx_cmd_discard(sedx_context *ctx, sedx_cmd *cmd);

/* ------------------------------------------------------------------------------------------
 * Deletion queue: fn(user) runs once the GPU has passed every value in after[]
 * (after[q] = 0: no condition on queue q; after NULL: no condition at all). Used by the
 * buffer layer for deferred destruction.
 * Every after[q] must have been submitted already (after[q] <= sedx_context_submitted_value(
 * ctx, q), e.g. a ticket's value): a later value is refused with SEDX_ERROR_INVALID_ARGUMENT
 * (logged; nothing is queued and fn is not called), as it would hold the item until the
 * context is destroyed.
 * ---------------------------------------------------------------------------------------- */
typedef void (*sedx_deferred_fn)(sedx_context *ctx, void *user);
SEDX_API sedx_result sedx_context_defer(sedx_context *ctx, const uint64_t after[SEDX_QUEUE_COUNT],
                                        sedx_deferred_fn fn, void *user);
/* Runs every deferred item whose values have passed; returns how many ran. Also called
 * automatically at every sedx submission. */
SEDX_API uint32_t sedx_context_collect_garbage(sedx_context *ctx);
/* Waits for every queue to go idle, then runs every deferred item. */
SEDX_API sedx_result sedx_context_wait_idle(sedx_context *ctx);
SEDX_API uint32_t sedx_context_pending_deletions(sedx_context *ctx);

/* Debug name through VK_EXT_debug_utils when available (no-op otherwise). */
SEDX_API void sedx_context_set_object_name(sedx_context *ctx, VkObjectType type, uint64_t handle,
                                           const char *name);

/* Every layer's statistics in one JSON document (docs/architecture.md): "device", "live_buffers",
 * "live_images", "transfer" (sedx_transfer_stats, image traffic included), "readback_async",
 * "frames" (sedx_frame_stats) and "memory" (sedx_memory_dump_json's document). Free it with
 * sedx_memory_free_string. NULL arguments: SEDX_ERROR_INVALID_ARGUMENT. */
SEDX_API sedx_result sedx_stats_json(sedx_context *ctx, char **out_json);

/* Enumerates the physical devices (for sedx-info). */
typedef struct sedx_device_summary {
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    VkPhysicalDeviceType type;
    uint32_t api_version;
    uint32_t vendor_id, device_id;
} sedx_device_summary;
/* Fills up to max entries; *count = number of devices. No context needed. */
SEDX_API sedx_result sedx_enumerate_devices(sedx_device_summary *out, uint32_t max, uint32_t *count);
SEDX_API const char *sedx_device_type_name(VkPhysicalDeviceType type);

#ifdef __cplusplus
}
#endif
#endif /* SEDX_CONTEXT_H */
