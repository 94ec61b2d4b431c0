/* sedx-info: the chosen device, every device, heaps, memory types, buffer limits, queues and
 * enabled features. `sedx-info --json` prints the same as one JSON document. */
#include <sedx/sedx.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr, "usage: sedx-info [--json] [--device INDEX|NAME] [--validation]\n");
}

static const char *mem_flag_names[] = {"DEVICE_LOCAL", "HOST_VISIBLE", "HOST_COHERENT", "HOST_CACHED",
                                       "LAZILY_ALLOCATED", "PROTECTED", "DEVICE_COHERENT_AMD", "DEVICE_UNCACHED_AMD"};

static void flags_string(VkMemoryPropertyFlags f, char *buf, size_t n)
{
    buf[0] = '\0';
    for (unsigned i = 0; i < 8; ++i)
        if (f & (1u << i)) {
            if (buf[0]) strncat(buf, "|", n - strlen(buf) - 1);
            strncat(buf, mem_flag_names[i], n - strlen(buf) - 1);
        }
    if (!buf[0]) strncat(buf, "0", n - 1);
}

static void queue_flags_string(VkQueueFlags f, char *buf, size_t n)
{
    static const char *names[] = {"GRAPHICS", "COMPUTE", "TRANSFER", "SPARSE", "PROTECTED"};
    buf[0] = '\0';
    for (unsigned i = 0; i < 5; ++i)
        if (f & (1u << i)) {
            if (buf[0]) strncat(buf, "|", n - strlen(buf) - 1);
            strncat(buf, names[i], n - strlen(buf) - 1);
        }
}

int main(int argc, char **argv)
{
    bool json = false;
    sedx_context_info info = {0};
    info.app_name = "sedx-info";
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (strcmp(argv[i], "--validation") == 0) info.flags |= SEDX_CONTEXT_VALIDATION;
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) info.device = argv[++i];
        else {
            usage();
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }

    sedx_device_summary devs[16];
    uint32_t ndev = 0;
    sedx_result r = sedx_enumerate_devices(devs, 16, &ndev);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-info: cannot enumerate devices: %s (%s)\n", sedx_result_name(r), sedx_result_string(r));
        return 1;
    }
    sedx_context *ctx = NULL;
    r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-info: sedx_context_create failed: %s (%s)\n", sedx_result_name(r), sedx_result_string(r));
        return 1;
    }
    const VkPhysicalDeviceProperties *p = sedx_context_properties(ctx);
    const VkPhysicalDeviceMemoryProperties *m = sedx_context_memory_properties(ctx);
    const VkPhysicalDeviceLimits *l = &p->limits;
    uint32_t api = sedx_context_api_version(ctx), feats = sedx_context_features(ctx);

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(sedx_context_physical_device(ctx), &nq, NULL);
    VkQueueFamilyProperties qf[32];
    if (nq > 32) nq = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(sedx_context_physical_device(ctx), &nq, qf);
    uint32_t gfam = 0, tfam = 0;
    sedx_context_queue(ctx, SEDX_QUEUE_GRAPHICS, &gfam);
    sedx_context_queue(ctx, SEDX_QUEUE_TRANSFER, &tfam);
    char buf[256];

    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON *dev = cJSON_AddObjectToObject(root, "device");
        cJSON_AddStringToObject(dev, "name", p->deviceName);
        cJSON_AddStringToObject(dev, "type", sedx_device_type_name(p->deviceType));
        snprintf(buf, sizeof buf, "%u.%u.%u", VK_API_VERSION_MAJOR(p->apiVersion), VK_API_VERSION_MINOR(p->apiVersion),
                 VK_API_VERSION_PATCH(p->apiVersion));
        cJSON_AddStringToObject(dev, "device_api_version", buf);
        snprintf(buf, sizeof buf, "%u.%u", VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api));
        cJSON_AddStringToObject(dev, "api_version_used", buf);
        cJSON_AddNumberToObject(dev, "driver_version", p->driverVersion);
        cJSON_AddNumberToObject(dev, "vendor_id", p->vendorID);
        cJSON_AddNumberToObject(dev, "device_id", p->deviceID);
        cJSON *all = cJSON_AddArrayToObject(root, "devices");
        for (uint32_t i = 0; i < ndev && i < 16; ++i) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddNumberToObject(d, "index", i);
            cJSON_AddStringToObject(d, "name", devs[i].name);
            cJSON_AddStringToObject(d, "type", sedx_device_type_name(devs[i].type));
            cJSON_AddItemToArray(all, d);
        }
        cJSON *heaps = cJSON_AddArrayToObject(root, "heaps");
        for (uint32_t i = 0; i < m->memoryHeapCount; ++i) {
            cJSON *h = cJSON_CreateObject();
            cJSON_AddNumberToObject(h, "index", i);
            cJSON_AddNumberToObject(h, "size", (double)m->memoryHeaps[i].size);
            cJSON_AddBoolToObject(h, "device_local", (m->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0);
            cJSON_AddItemToArray(heaps, h);
        }
        cJSON *types = cJSON_AddArrayToObject(root, "memory_types");
        for (uint32_t i = 0; i < m->memoryTypeCount; ++i) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddNumberToObject(t, "index", i);
            cJSON_AddNumberToObject(t, "heap", m->memoryTypes[i].heapIndex);
            flags_string(m->memoryTypes[i].propertyFlags, buf, sizeof buf);
            cJSON_AddStringToObject(t, "flags", buf);
            cJSON_AddItemToArray(types, t);
        }
        cJSON *lim = cJSON_AddObjectToObject(root, "limits");
        cJSON_AddNumberToObject(lim, "minUniformBufferOffsetAlignment", (double)l->minUniformBufferOffsetAlignment);
        cJSON_AddNumberToObject(lim, "minStorageBufferOffsetAlignment", (double)l->minStorageBufferOffsetAlignment);
        cJSON_AddNumberToObject(lim, "minTexelBufferOffsetAlignment", (double)l->minTexelBufferOffsetAlignment);
        cJSON_AddNumberToObject(lim, "nonCoherentAtomSize", (double)l->nonCoherentAtomSize);
        cJSON_AddNumberToObject(lim, "bufferImageGranularity", (double)l->bufferImageGranularity);
        cJSON_AddNumberToObject(lim, "maxMemoryAllocationCount", l->maxMemoryAllocationCount);
        cJSON_AddNumberToObject(lim, "maxUniformBufferRange", l->maxUniformBufferRange);
        cJSON_AddNumberToObject(lim, "maxStorageBufferRange", l->maxStorageBufferRange);
        cJSON_AddNumberToObject(lim, "optimalBufferCopyOffsetAlignment", (double)l->optimalBufferCopyOffsetAlignment);
        cJSON_AddNumberToObject(lim, "optimalBufferCopyRowPitchAlignment", (double)l->optimalBufferCopyRowPitchAlignment);
        cJSON *queues = cJSON_AddArrayToObject(root, "queue_families");
        for (uint32_t i = 0; i < nq; ++i) {
            cJSON *q = cJSON_CreateObject();
            cJSON_AddNumberToObject(q, "index", i);
            queue_flags_string(qf[i].queueFlags, buf, sizeof buf);
            cJSON_AddStringToObject(q, "flags", buf);
            cJSON_AddNumberToObject(q, "count", qf[i].queueCount);
            cJSON_AddNumberToObject(q, "timestamp_valid_bits", qf[i].timestampValidBits);
            cJSON_AddItemToArray(queues, q);
        }
        cJSON_AddNumberToObject(root, "graphics_queue_family", gfam);
        if (sedx_context_has_transfer_queue(ctx)) cJSON_AddNumberToObject(root, "transfer_queue_family", tfam);
        else cJSON_AddNullToObject(root, "transfer_queue_family");
        cJSON *f = cJSON_AddObjectToObject(root, "features");
        for (uint32_t bit = 1; bit <= SEDX_FEATURE_RAY_TRACING_PIPELINE; bit <<= 1)
            cJSON_AddBoolToObject(f, sedx_feature_name(bit), (feats & bit) != 0);
        sedx_raytracing_properties rt;
        if ((feats & SEDX_FEATURE_ACCELERATION_STRUCTURE) && sedx_raytracing_get_properties(ctx, &rt) == SEDX_SUCCESS) {
            cJSON *o = cJSON_AddObjectToObject(root, "ray_tracing");
            cJSON_AddNumberToObject(o, "minAccelerationStructureScratchOffsetAlignment", rt.min_scratch_offset_alignment);
            cJSON_AddNumberToObject(o, "maxGeometryCount", (double)rt.max_geometry_count);
            cJSON_AddNumberToObject(o, "maxInstanceCount", (double)rt.max_instance_count);
            cJSON_AddNumberToObject(o, "maxPrimitiveCount", (double)rt.max_primitive_count);
            cJSON_AddNumberToObject(o, "shaderGroupHandleSize", rt.shader_group_handle_size);
            cJSON_AddNumberToObject(o, "shaderGroupHandleAlignment", rt.shader_group_handle_alignment);
            cJSON_AddNumberToObject(o, "shaderGroupBaseAlignment", rt.shader_group_base_alignment);
            cJSON_AddNumberToObject(o, "maxShaderGroupStride", rt.max_shader_group_stride);
            cJSON_AddNumberToObject(o, "maxRayRecursionDepth", rt.max_ray_recursion_depth);
        }
        char *text = cJSON_Print(root);
        printf("%s\n", text);
        cJSON_free(text);
        cJSON_Delete(root);
    } else {
        printf("sedx %d.%d.%d — device report\n\n", SEDX_VERSION_MAJOR, SEDX_VERSION_MINOR, SEDX_VERSION_PATCH);
        printf("Chosen device: %s (%s), Vulkan %u.%u.%u on the device, %u.%u used\n", p->deviceName,
               sedx_device_type_name(p->deviceType), VK_API_VERSION_MAJOR(p->apiVersion),
               VK_API_VERSION_MINOR(p->apiVersion), VK_API_VERSION_PATCH(p->apiVersion), VK_API_VERSION_MAJOR(api),
               VK_API_VERSION_MINOR(api));
        printf("\nAll devices (pick one with SEDX_DEVICE=<index or name substring>):\n");
        for (uint32_t i = 0; i < ndev && i < 16; ++i)
            printf("  [%u] %s (%s)%s\n", i, devs[i].name, sedx_device_type_name(devs[i].type),
                   strcmp(devs[i].name, p->deviceName) == 0 ? "  <- chosen" : "");
        printf("\nMemory heaps:\n");
        for (uint32_t i = 0; i < m->memoryHeapCount; ++i)
            printf("  heap %u: %10.1f MiB %s\n", i, (double)m->memoryHeaps[i].size / (1024.0 * 1024.0),
                   (m->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) ? "DEVICE_LOCAL" : "");
        printf("\nMemory types:\n");
        for (uint32_t i = 0; i < m->memoryTypeCount; ++i) {
            flags_string(m->memoryTypes[i].propertyFlags, buf, sizeof buf);
            printf("  type %2u: heap %u  %s\n", i, m->memoryTypes[i].heapIndex, buf);
        }
        printf("\nLimits that matter for buffers:\n");
        printf("  minUniformBufferOffsetAlignment     %llu\n", (unsigned long long)l->minUniformBufferOffsetAlignment);
        printf("  minStorageBufferOffsetAlignment     %llu\n", (unsigned long long)l->minStorageBufferOffsetAlignment);
        printf("  minTexelBufferOffsetAlignment       %llu\n", (unsigned long long)l->minTexelBufferOffsetAlignment);
        printf("  nonCoherentAtomSize                 %llu\n", (unsigned long long)l->nonCoherentAtomSize);
        printf("  bufferImageGranularity              %llu\n", (unsigned long long)l->bufferImageGranularity);
        printf("  maxMemoryAllocationCount            %u\n", l->maxMemoryAllocationCount);
        printf("  maxUniformBufferRange               %u\n", l->maxUniformBufferRange);
        printf("  maxStorageBufferRange               %u\n", l->maxStorageBufferRange);
        printf("  optimalBufferCopyOffsetAlignment    %llu\n", (unsigned long long)l->optimalBufferCopyOffsetAlignment);
        printf("  optimalBufferCopyRowPitchAlignment  %llu\n", (unsigned long long)l->optimalBufferCopyRowPitchAlignment);
        printf("\nQueue families:\n");
        for (uint32_t i = 0; i < nq; ++i) {
            queue_flags_string(qf[i].queueFlags, buf, sizeof buf);
            printf("  family %u: %u queue(s) %s%s%s\n", i, qf[i].queueCount, buf, i == gfam ? "  <- main queue" : "",
                   (sedx_context_has_transfer_queue(ctx) && i == tfam) ? "  <- transfer queue" : "");
        }
        printf("\nFeatures enabled by sedx:\n");
        for (uint32_t bit = 1; bit <= SEDX_FEATURE_RAY_TRACING_PIPELINE; bit <<= 1)
            printf("  %-24s %s\n", sedx_feature_name(bit), (feats & bit) ? "on" : "off");
        sedx_raytracing_properties rt;
        if ((feats & SEDX_FEATURE_ACCELERATION_STRUCTURE) && sedx_raytracing_get_properties(ctx, &rt) == SEDX_SUCCESS) {
            printf("\nRay tracing (<sedx/raytracing.h>):\n");
            printf("  minAccelerationStructureScratchOffsetAlignment  %u\n", rt.min_scratch_offset_alignment);
            printf("  maxGeometryCount / maxInstanceCount / maxPrimitiveCount  %llu / %llu / %llu\n",
                   (unsigned long long)rt.max_geometry_count, (unsigned long long)rt.max_instance_count,
                   (unsigned long long)rt.max_primitive_count);
            printf("  shaderGroupHandleSize / HandleAlignment / BaseAlignment  %u / %u / %u\n",
                   rt.shader_group_handle_size, rt.shader_group_handle_alignment, rt.shader_group_base_alignment);
            printf("  maxShaderGroupStride %u, maxRayRecursionDepth %u\n", rt.max_shader_group_stride,
                   rt.max_ray_recursion_depth);
        }
        if (sedx_context_validation_enabled(ctx))
            printf("\nValidation: on, %u errors, %u warnings\n", sedx_context_validation_error_count(ctx),
                   sedx_context_validation_warning_count(ctx));
    }
    sedx_context_destroy(ctx);
    return 0;
}
