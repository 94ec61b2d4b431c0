/* The device layer: the floor every layer stands on. struct sedx_context holds what the device
 * layer owns (instance, physical device, device, queues, timelines, the deletion queue, object
 * names) and one slot per layer above for that layer's state; the device layer never touches a
 * slot except to check, when it is destroyed, that every layer has emptied its own. */
#ifndef SEDX_DEVICE_DEVICE_H
#define SEDX_DEVICE_DEVICE_H

#include <sedx/context.h>
#include "core/core.h"
#include "core/vk.h"

/* The layers' own state, opaque here (each layer defines its struct). */
struct sedx__allocator;
struct sedx__buffer_registry;
struct sedx__image_registry;
struct sedx__bindless;
struct sedx__transfer;
struct sedx__frame;
struct sedx__raytracing;

typedef struct sedx__deferred {
    uint64_t after[SEDX_QUEUE_COUNT];
    sedx_deferred_fn fn;
    void *user;
} sedx__deferred;

#define SEDX__CMD_RING 64u /* one-time command buffers per queue, recycled by timeline value */
#define SEDX__MAX_SUBMIT_WAITS 8u /* sedx_submit_info.wait_count limit */
#define SEDX__CMD_DROP_LOG 8u     /* not-submitted begins remembered per slot (sedx__queue_cmd_fate) */

typedef struct sedx__queue {
    VkQueue queue;
    uint32_t family;
    bool present;              /* TRANSFER: a distinct transfer-only family exists */
    pthread_mutex_t lock;      /* VkQueue is externally synchronised */
    VkSemaphore timeline;
    _Atomic uint64_t submitted; /* last value a submission will signal */
    _Atomic uint64_t completed; /* cached last known completed value */
    /* one-time command buffers: each slot has its own pool, so several threads can record at
     * once (a pool is externally synchronised); pool_lock only guards slot bookkeeping */
    pthread_mutex_t pool_lock;
    bool can_submit;                    /* timeline semaphores available */
    VkCommandPool pools[SEDX__CMD_RING]; /* created on first use */
    VkCommandBuffer cmds[SEDX__CMD_RING];
    uint64_t cmd_value[SEDX__CMD_RING]; /* timeline value of its last submission */
    bool cmd_busy[SEDX__CMD_RING];      /* begun, not yet submitted */
    /* What became of one command buffer after its slot was begun again (sedx__queue_cmd_fate):
     * the slot's begins so far, and the begins (epochs) of its last SEDX__CMD_DROP_LOG command
     * buffers that were not submitted (discarded, failed submit, failed vkBeginCommandBuffer), in
     * a ring; every other begin before the current one was submitted. Discards are rare, so the
     * log covers any number of submitted reuses. */
    uint64_t cmd_epoch[SEDX__CMD_RING];
    uint64_t cmd_drops[SEDX__CMD_RING][SEDX__CMD_DROP_LOG];
    uint64_t cmd_drop_count[SEDX__CMD_RING]; /* 64 bits: a wrap would lose the log (n < 8 read) */
} sedx__queue;

typedef enum sedx__cmd_fate {
    SEDX__CMD_RECORDING,     /* still begun: neither submitted nor discarded */
    SEDX__CMD_SUBMITTED,     /* *value: its submission's timeline value, or one at or after it */
    SEDX__CMD_NOT_SUBMITTED, /* discarded, or its submit failed: it never runs */
    SEDX__CMD_UNKNOWN,       /* begun again since, with more discards than the log keeps */
} sedx__cmd_fate;

/* What became of the command buffer of begin `epoch` (sedx__queue.cmd_epoch when it was begun) of
 * slot `slot`. Takes q->pool_lock. */
sedx__cmd_fate sedx__queue_cmd_fate(sedx__queue *q, uint32_t slot, uint64_t epoch, uint64_t *value);

struct sedx_context {
    uint32_t id;                 /* unique per process, for tickets and handles */
    VkInstance instance;
    VkPhysicalDevice physical;
    VkDevice device;
    bool owns_instance, owns_device;
    uint32_t api_version;
    uint32_t features;           /* sedx_device_feature_bits enabled */
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem_props;
    VkPhysicalDeviceVulkan12Properties props12;   /* filled where available */
    VkPhysicalDeviceMaintenance3Properties maint3;

    sedx__queue queues[SEDX_QUEUE_COUNT]; /* [TRANSFER] aliases GRAPHICS's queue when !present */

    /* validation */
    bool validation;
    VkDebugUtilsMessengerEXT messenger;
    _Atomic uint32_t validation_errors, validation_warnings;

    /* extension entry points (NULL when absent) */
    PFN_vkSetDebugUtilsObjectNameEXT set_object_name;
    PFN_vkCreateDebugUtilsMessengerEXT create_messenger;
    PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger;
    PFN_vkGetMemoryHostPointerPropertiesEXT get_host_pointer_props;
    PFN_vkCmdPipelineBarrier2KHR cmd_pipeline_barrier2;

    /* VkPhysicalDeviceMaintenance4Properties::maxBufferSize on a 1.3 device, 0 elsewhere: no
     * VkBuffer may be larger (VUID-VkBufferCreateInfo-size-06409) */
    uint64_t max_buffer_size;
    /* ray tracing: filled when SEDX_FEATURE_ACCELERATION_STRUCTURE (and _RAY_TRACING_PIPELINE)
     * is enabled, zero otherwise (<sedx/raytracing.h>) */
    VkPhysicalDeviceAccelerationStructurePropertiesKHR as_props;
    VkPhysicalDeviceRayTracingPipelinePropertiesKHR rtp_props;
    struct {
        PFN_vkCreateAccelerationStructureKHR create_as;
        PFN_vkDestroyAccelerationStructureKHR destroy_as;
        PFN_vkGetAccelerationStructureBuildSizesKHR build_sizes;
        PFN_vkCmdBuildAccelerationStructuresKHR cmd_build;
        PFN_vkGetAccelerationStructureDeviceAddressKHR as_address;
        PFN_vkGetRayTracingShaderGroupHandlesKHR group_handles;
        PFN_vkCmdWriteAccelerationStructuresPropertiesKHR cmd_write_properties;
        PFN_vkCmdCopyAccelerationStructureKHR cmd_copy;
    } rt;

    /* deletion queue */
    pthread_mutex_t deferred_lock;
    sedx__deferred *deferred;
    uint32_t deferred_count, deferred_cap;

    /* the layers above, in the order the composite (src/context) creates them */
    struct {
        struct sedx__allocator *memory;
        struct sedx__buffer_registry *buffer;
        struct sedx__image_registry *image;
        struct sedx__bindless *bindless;
        struct sedx__transfer *transfer;
        struct sedx__raytracing *raytracing;
        struct sedx__frame *frame;
    } layers;
};

/* The queue actually used for kind (TRANSFER -> GRAPHICS when no transfer family). */
static inline sedx__queue *sedx__ctx_queue(sedx_context *ctx, sedx_queue kind)
{
    return (kind == SEDX_QUEUE_TRANSFER && !ctx->queues[SEDX_QUEUE_TRANSFER].present)
               ? &ctx->queues[SEDX_QUEUE_GRAPHICS]
               : &ctx->queues[kind];
}


/* The device's life, driven by the composite context (src/context). */
sedx_context *sedx__device_alloc(void); /* zeroed, with its id and locks; NULL without host memory */
sedx_result sedx__device_create(sedx_context *ctx, const sedx_context_info *info);
sedx_result sedx__device_adopt(sedx_context *ctx, const sedx_vulkan_objects *objects);
/* Waits for every queue, runs every deferred item (work the layers' teardown queued too). */
void sedx__device_drain(sedx_context *ctx);
/* Destroys what the device layer made and frees ctx; every layer slot must be empty. */
void sedx__device_destroy(sedx_context *ctx);

#endif
