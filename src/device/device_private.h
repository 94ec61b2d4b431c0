/* Shared by the device layer's files only (src/device/). */
#ifndef SEDX_DEVICE_PRIVATE_H
#define SEDX_DEVICE_PRIVATE_H

#include "device/device.h"

#define TAG "DEVICE"

/* instance.c */
bool sedx__has_extension(const VkExtensionProperties *exts, uint32_t n, const char *name);
sedx_result sedx__create_instance(sedx_context *ctx, const sedx_context_info *info, bool validation,
                                  bool sync_validation);
/* physical.c */
int sedx__find_queue_families(VkPhysicalDevice pd, bool want_transfer, uint32_t *main_family,
                              uint32_t *transfer_family);
sedx_result sedx__pick_physical_device(sedx_context *ctx, const char *selector);
void sedx__query_properties(sedx_context *ctx);
/* logical.c */
sedx_result sedx__create_logical_device(sedx_context *ctx, const sedx_context_info *info);
/* queue.c */
sedx_result sedx__queue_init(sedx_context *ctx, sedx__queue *q);
void sedx__queue_finish(sedx_context *ctx, sedx__queue *q);
uint64_t sedx__queue_refresh_completed(sedx_context *ctx, sedx__queue *q);
sedx_result sedx__queue_wait(sedx_context *ctx, sedx__queue *q, uint64_t value, uint64_t timeout_ns);
/* deferred.c */
uint32_t sedx__run_deferred(sedx_context *ctx, bool all);

#endif
