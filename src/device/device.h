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
    /* begins of the slot so far, and whether each of the last 64 was submitted (bit epoch % 64;
     * cleared at the begin, set by a successful submit): tells what became of one command buffer
     * after its slot was begun again (sedx_download_async_submitted_all) */
    uint64_t cmd_epoch[SEDX__CMD_RING];
    uint64_t cmd_sent[SEDX__CMD_RING];
} sedx__queue;

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
