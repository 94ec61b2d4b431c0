/*
 * Rendering: offscreen colour (sRGB), object-ID (R32_UINT) and depth targets as sedx images; a
 * graphics pipeline with dynamic rendering; each frame between sedx_frame_begin / _end, the
 * camera and every object's transform in the frame's transient memory (by device address in
 * push constants), one indexed draw per object from the scene's vertex and index buffers, and
 * the object ID under the pick pixel copied into a small buffer and read back asynchronously,
 * the readback recorded into the frame's own command buffer (never waited for: the answer
 * arrives frames later).
 */
#include "view.h"
#include "view_math.h"

#include "mesh_frag_spv.h"
#include "mesh_vert_spv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PICK_SLOTS 8u /* requests in flight; a slot is reused only once its answer is taken */

typedef struct push {
    VkDeviceAddress camera, objects, bindless_table;
    uint32_t material_id, object, material, pad;
} push;

typedef struct camera_block {
    float view_proj[16];
    float eye[4];
    float light_dir[4];
} camera_block;

typedef struct pick_slot {
    sedx_download_request req;
    bool busy;
    uint32_t frame;
} pick_slot;

struct view_renderer {
    sedx_context *ctx;
    VkDevice dev;
    const view_options *o;
    const view_scene *s;
    const view_gpu *g;
    sedx_image color, id, depth;
    VkPipelineLayout layout;
    VkPipeline pipe;
    sedx_bindless_layout bindless;
    sedx_buffer pick;
    pick_slot picks[PICK_SLOTS];
    uint32_t pick_next;
    int64_t picked;
    uint32_t pick_latency; /* frames between the request and its answer (the latest) */
    float center[3], radius;
};

static double now_s(void) { return (double)sedx_time_ns() * 1e-9; }

static sedx_result make_target(sedx_context *ctx, VkFormat f, VkImageUsageFlags usage, const char *name, uint32_t w,
                               uint32_t h, sedx_image *out)
{
    sedx_image_info ii = {0};
    ii.format = f;
    ii.width = w;
    ii.height = h;
    ii.usage = usage;
    ii.name = name;
    ii.flags = SEDX_IMAGE_EXCLUSIVE; /* rendered on the main queue only */
    return sedx_image_create(ctx, &ii, out);
}

static VkShaderModule module(VkDevice dev, const uint32_t *code, size_t bytes)
{
    VkShaderModuleCreateInfo mi = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = bytes;
    mi.pCode = code;
    VkShaderModule m = VK_NULL_HANDLE;
    vkCreateShaderModule(dev, &mi, NULL, &m);
    return m;
}

static VkResult create_pipeline(view_renderer *r)
{
    VkPushConstantRange pr = {VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(push)};
    VkPipelineLayoutCreateInfo li = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    li.setLayoutCount = 1;
    li.pSetLayouts = &r->g->set_layout;
    li.pushConstantRangeCount = 1;
    li.pPushConstantRanges = &pr;
    VkResult vr = vkCreatePipelineLayout(r->dev, &li, NULL, &r->layout);
    if (vr != VK_SUCCESS) return vr;
    VkShaderModule vs = module(r->dev, sedx__spv_mesh_vert, sizeof sedx__spv_mesh_vert);
    VkShaderModule fs = module(r->dev, sedx__spv_mesh_frag, sizeof sedx__spv_mesh_frag);
    VkPipelineShaderStageCreateInfo st[2] = {{VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO},
                                             {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO}};
    st[0].stage = VK_SHADER_STAGE_VERTEX_BIT;
    st[0].module = vs;
    st[0].pName = "main";
    st[1].stage = VK_SHADER_STAGE_FRAGMENT_BIT;
    st[1].module = fs;
    st[1].pName = "main";
    VkVertexInputBindingDescription vb = {0, sizeof(view_vertex), VK_VERTEX_INPUT_RATE_VERTEX};
    VkVertexInputAttributeDescription va[3] = {{0, 0, VK_FORMAT_R32G32B32_SFLOAT, 0},
                                               {1, 0, VK_FORMAT_R32G32B32_SFLOAT, 12},
                                               {2, 0, VK_FORMAT_R32G32_SFLOAT, 24}};
    VkPipelineVertexInputStateCreateInfo vi = {VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
    vi.vertexBindingDescriptionCount = 1;
    vi.pVertexBindingDescriptions = &vb;
    vi.vertexAttributeDescriptionCount = 3;
    vi.pVertexAttributeDescriptions = va;
    VkPipelineInputAssemblyStateCreateInfo ia = {VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO};
    ia.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST;
    VkPipelineViewportStateCreateInfo vp = {VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO};
    vp.viewportCount = vp.scissorCount = 1;
    VkPipelineRasterizationStateCreateInfo rs = {VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO};
    rs.polygonMode = VK_POLYGON_MODE_FILL;
    rs.cullMode = VK_CULL_MODE_NONE;
    rs.lineWidth = 1.0f;
    VkPipelineMultisampleStateCreateInfo ms = {VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO};
    ms.rasterizationSamples = VK_SAMPLE_COUNT_1_BIT;
    VkPipelineDepthStencilStateCreateInfo ds = {VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO};
    ds.depthTestEnable = ds.depthWriteEnable = VK_TRUE;
    ds.depthCompareOp = VK_COMPARE_OP_LESS;
    VkPipelineColorBlendAttachmentState cb[2] = {{0}, {0}};
    cb[0].colorWriteMask = 0xF;
    cb[1].colorWriteMask = 0xF; /* identical states: independentBlend is not enabled */
    VkPipelineColorBlendStateCreateInfo bs = {VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO};
    bs.attachmentCount = 2;
    bs.pAttachments = cb;
    VkDynamicState dyn[2] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
    VkPipelineDynamicStateCreateInfo dy = {VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO};
    dy.dynamicStateCount = 2;
    dy.pDynamicStates = dyn;
    VkFormat formats[2] = {VK_FORMAT_R8G8B8A8_SRGB, VK_FORMAT_R32_UINT};
    VkPipelineRenderingCreateInfo rinfo = {VK_STRUCTURE_TYPE_PIPELINE_RENDERING_CREATE_INFO};
    rinfo.colorAttachmentCount = 2;
    rinfo.pColorAttachmentFormats = formats;
    rinfo.depthAttachmentFormat = VK_FORMAT_D32_SFLOAT;
    VkGraphicsPipelineCreateInfo pi = {VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO};
    pi.pNext = &rinfo;
    pi.stageCount = 2;
    pi.pStages = st;
    pi.pVertexInputState = &vi;
    pi.pInputAssemblyState = &ia;
    pi.pViewportState = &vp;
    pi.pRasterizationState = &rs;
    pi.pMultisampleState = &ms;
    pi.pDepthStencilState = &ds;
    pi.pColorBlendState = &bs;
    pi.pDynamicState = &dy;
    pi.layout = r->layout;
    vr = vs && fs ? vkCreateGraphicsPipelines(r->dev, VK_NULL_HANDLE, 1, &pi, NULL, &r->pipe)
                  : VK_ERROR_INITIALIZATION_FAILED;
    if (vs) vkDestroyShaderModule(r->dev, vs, NULL);
    if (fs) vkDestroyShaderModule(r->dev, fs, NULL);
    return vr;
}

int view_renderer_create(sedx_context *ctx, const view_options *o, const view_scene *s, const view_gpu *g,
                         view_renderer **out, char *err, size_t errlen)
{
    if (!(sedx_context_features(ctx) & SEDX_FEATURE_DYNAMIC_RENDERING) ||
        !(sedx_context_features(ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS))
        return view_fail(err, errlen, VIEW_EXIT_GPU, "the device lacks dynamic rendering or buffer device address");
    view_renderer *r = calloc(1, sizeof *r);
    if (!r) return view_fail(err, errlen, VIEW_EXIT_GPU, "out of host memory");
    *out = r;
    r->ctx = ctx;
    r->dev = sedx_context_device(ctx);
    r->o = o;
    r->s = s;
    r->g = g;
    r->picked = -2;
    const VkImageUsageFlags att = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    sedx_result sr = make_target(ctx, VK_FORMAT_R8G8B8A8_SRGB, att, "view color", o->width, o->height, &r->color);
    if (sr == SEDX_SUCCESS) sr = make_target(ctx, VK_FORMAT_R32_UINT, att, "view object id", o->width, o->height, &r->id);
    if (sr == SEDX_SUCCESS)
        sr = make_target(ctx, VK_FORMAT_D32_SFLOAT, VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT, "view depth", o->width,
                         o->height, &r->depth);
    if (sr == SEDX_SUCCESS)
        sr = sedx_buffer_create(ctx, PICK_SLOTS * 16, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "view pick", &r->pick);
    if (sr == SEDX_SUCCESS) sr = sedx_bindless_get(ctx, &r->bindless);
    if (sr != SEDX_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "render targets: %s", sedx_result_name(sr));
    if (create_pipeline(r) != VK_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "graphics pipeline creation failed");
    for (int k = 0; k < 3; ++k) r->center[k] = 0.5f * (s->bmin[k] + s->bmax[k]);
    /* in double: the squares of a large model's extents (over ~1e19) overflow a float */
    double d[3] = {(double)s->bmax[0] - s->bmin[0], (double)s->bmax[1] - s->bmin[1], (double)s->bmax[2] - s->bmin[2]};
    r->radius = (float)(0.5 * sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]));
    if (!(r->radius > 1e-6f)) r->radius = 1.0f;
    return VIEW_OK;
}

/* ---- one frame ---------------------------------------------------------------------------- */

/* The orbit camera framing the bounds: a quarter turn over the run, from 35 degrees up. */
void view_renderer_camera(const view_renderer *r, uint32_t index, view_camera *out)
{
    const float fov = 0.8f;
    uint32_t frames = r->o->frames ? r->o->frames : 1;
    float a = 0.6f + 1.5707963f * (float)index / (float)frames, e = 0.6f;
    float dist = r->radius / sinf(fov * 0.5f) * 1.05f;
    float eye[3] = {r->center[0] + dist * cosf(e) * sinf(a), r->center[1] + dist * sinf(e),
                    r->center[2] + dist * cosf(e) * cosf(a)};
    float up[3] = {0, 1, 0};
    vm_look_at(eye, r->center, up, out->view);
    out->znear = fmaxf(dist - r->radius * 1.5f, dist * 0.01f);
    out->zfar = dist + r->radius * 1.5f;
    vm_perspective(fov, (float)r->o->width / (float)r->o->height, out->znear, out->zfar, out->proj);
    out->proj[5] = -out->proj[5]; /* Vulkan's y points down */
    memcpy(out->eye, eye, sizeof eye);
    const float l[3] = {-0.35f, -0.8f, -0.5f};
    memcpy(out->light_dir, l, sizeof l);
}

static void camera(const view_renderer *r, uint32_t index, camera_block *c)
{
    view_camera vc;
    view_renderer_camera(r, index, &vc);
    vm_mul(vc.proj, vc.view, c->view_proj);
    memcpy(c->eye, vc.eye, sizeof vc.eye);
    c->eye[3] = 1.0f;
    memcpy(c->light_dir, vc.light_dir, sizeof vc.light_dir);
    c->light_dir[3] = 0.0f;
}

void view_image_barrier(VkCommandBuffer cb, VkImage img, VkImageAspectFlags aspect, VkImageLayout from,
                        VkImageLayout to, VkPipelineStageFlags ss, VkAccessFlags sa, VkPipelineStageFlags ds,
                        VkAccessFlags da)
{
    VkImageMemoryBarrier b = {VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.srcAccessMask = sa;
    b.dstAccessMask = da;
    b.oldLayout = from;
    b.newLayout = to;
    b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = img;
    b.subresourceRange = (VkImageSubresourceRange){aspect, 0, 1, 0, 1};
    vkCmdPipelineBarrier(cb, ss, ds, 0, 0, NULL, 0, NULL, 1, &b);
}

static void begin_targets(VkCommandBuffer cb, const view_renderer *r)
{
    const VkPipelineStageFlags all = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    const VkPipelineStageFlags out = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    const VkPipelineStageFlags tests = VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT | VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT;
    const VkAccessFlags cw = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_COLOR_ATTACHMENT_READ_BIT;
    /* the previous frame's contents are not needed: from UNDEFINED, after every earlier use */
    view_image_barrier(cb, r->color.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                       VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, all, VK_ACCESS_MEMORY_WRITE_BIT, out, cw);
    view_image_barrier(cb, r->id.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                       VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, all, VK_ACCESS_MEMORY_WRITE_BIT, out, cw);
    view_image_barrier(cb, r->depth.image, VK_IMAGE_ASPECT_DEPTH_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                       VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL, all, VK_ACCESS_MEMORY_WRITE_BIT, tests,
                       VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT);
    VkRenderingAttachmentInfo ca[2] = {{VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO},
                                       {VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO}};
    ca[0].imageView = r->color.view;
    ca[0].imageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL;
    ca[0].loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
    ca[0].storeOp = VK_ATTACHMENT_STORE_OP_STORE;
    ca[0].clearValue.color = (VkClearColorValue){{0.06f, 0.07f, 0.09f, 1.0f}};
    ca[1] = ca[0];
    ca[1].imageView = r->id.view;
    ca[1].clearValue.color = (VkClearColorValue){.uint32 = {0, 0, 0, 0}};
    VkRenderingAttachmentInfo da = {VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO};
    da.imageView = r->depth.view;
    da.imageLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL;
    da.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
    da.storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
    da.clearValue.depthStencil.depth = 1.0f;
    VkRenderingInfo ri = {VK_STRUCTURE_TYPE_RENDERING_INFO};
    ri.renderArea.extent = (VkExtent2D){r->o->width, r->o->height};
    ri.layerCount = 1;
    ri.colorAttachmentCount = 2;
    ri.pColorAttachments = ca;
    ri.pDepthAttachment = &da;
    vkCmdBeginRendering(cb, &ri);
}

static void draw(VkCommandBuffer cb, const view_renderer *r, VkDeviceAddress cam, VkDeviceAddress objects)
{
    const view_scene *s = r->s;
    const view_gpu *g = r->g;
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_GRAPHICS, r->pipe);
    VkViewport vp = {0, 0, (float)r->o->width, (float)r->o->height, 0, 1};
    VkRect2D sc = {{0, 0}, {r->o->width, r->o->height}};
    vkCmdSetViewport(cb, 0, 1, &vp);
    vkCmdSetScissor(cb, 0, 1, &sc);
    VkBuffer vb = sedx_buffer_vk(&g->vertices);
    VkDeviceSize zero = 0;
    vkCmdBindVertexBuffers(cb, 0, 1, &vb, &zero);
    vkCmdBindIndexBuffer(cb, sedx_buffer_vk(&g->indices), 0, VK_INDEX_TYPE_UINT32);
    VkDescriptorSet bound = VK_NULL_HANDLE;
    push pc = {cam, objects, r->bindless.table_address, sedx_buffer_id(&g->materials), 0, 0, 0};
    for (uint32_t i = 0; i < s->object_count; ++i) {
        const view_mesh *m = &s->meshes[s->objects[i].mesh];
        int32_t tex = s->materials[m->material].texture;
        VkDescriptorSet set = g->sets[tex >= 0 ? (uint32_t)tex : g->texture_count];
        if (set != bound) {
            vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_GRAPHICS, r->layout, 0, 1, &set, 0, NULL);
            bound = set;
        }
        pc.object = i;
        pc.material = m->material;
        vkCmdPushConstants(cb, r->layout, VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof pc, &pc);
        vkCmdDrawIndexed(cb, m->index_count, 1, m->first_index, (int32_t)m->first_vertex, 0);
    }
    vkCmdEndRendering(cb);
}

/* The object ID under the pick pixel into the pick buffer's slot. */
static void copy_pick(VkCommandBuffer cb, const view_renderer *r, uint32_t slot)
{
    view_image_barrier(cb, r->id.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                       VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                       VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    VkBufferImageCopy c = {0};
    c.bufferOffset = (VkDeviceSize)slot * 16;
    c.imageSubresource = (VkImageSubresourceLayers){VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    int32_t x = r->o->pick_x >= 0 ? r->o->pick_x : (int32_t)r->o->width / 2;
    int32_t y = r->o->pick_y >= 0 ? r->o->pick_y : (int32_t)r->o->height / 2;
    c.imageOffset = (VkOffset3D){x, y, 0};
    c.imageExtent = (VkExtent3D){1, 1, 1};
    vkCmdCopyImageToBuffer(cb, r->id.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, sedx_buffer_vk(&r->pick), 1, &c);
}

/* Takes every answer that has arrived (never waits); the newest wins. */
static void take_picks(view_renderer *r, uint32_t index)
{
    for (uint32_t k = 0; k < PICK_SLOTS; ++k) {
        pick_slot *p = &r->picks[(r->pick_next + k) % PICK_SLOTS]; /* oldest first */
        if (!p->busy || sedx_download_poll(r->ctx, &p->req) != SEDX_SUCCESS) continue;
        uint32_t v[4];
        if (sedx_download_result(r->ctx, &p->req, v) == SEDX_SUCCESS) {
            r->picked = (int64_t)v[0] - 1;
            if (index != UINT32_MAX) r->pick_latency = index - p->frame; /* (not at the end) */
        }
        p->busy = false;
    }
}

int view_renderer_frame(view_renderer *r, uint32_t index, view_frame_result *res)
{
    double t0 = now_s(), sedx_s = 0, ts = now_s();
    sedx_frame *frame;
    sedx_result sr = sedx_frame_begin(r->ctx, &frame);
    take_picks(r, index);
    uint32_t slot = r->pick_next;
    bool pick = !r->picks[slot].busy; /* else its answer is still on the way: skip a pick this frame */
    sedx_transient cam = {0}, obj = {0};
    if (sr == SEDX_SUCCESS) sr = sedx_transient_alloc(frame, sizeof(camera_block), SEDX_BUFFER_USAGE_STORAGE, &cam);
    if (sr == SEDX_SUCCESS)
        sr = sedx_transient_alloc(frame, (uint64_t)r->s->object_count * 64, SEDX_BUFFER_USAGE_STORAGE, &obj);
    sedx_frame_stats fst; /* the begin's wait for the GPU is the GPU's time, not sedx's */
    if (sedx_frame_get_stats(r->ctx, &fst) == SEDX_SUCCESS) sedx_s -= (double)fst.wait_ns_last * 1e-9;
    res->gpu_wait_us = (double)fst.wait_ns_last * 1e-3;
    sedx_s += now_s() - ts;
    if (sr != SEDX_SUCCESS) return VIEW_EXIT_GPU;
    camera_block cb;
    camera(r, index, &cb);
    memcpy(cam.data, &cb, sizeof cb);
    for (uint32_t i = 0; i < r->s->object_count; ++i) memcpy((uint8_t *)obj.data + (size_t)i * 64, r->s->objects[i].model, 64);
    sedx_cmd cmd;
    if (sedx_cmd_begin(r->ctx, SEDX_QUEUE_GRAPHICS, &cmd) != SEDX_SUCCESS) return VIEW_EXIT_GPU;
    begin_targets(cmd.cmd, r);
    draw(cmd.cmd, r, cam.address, obj.address);
    if (pick) {
        copy_pick(cmd.cmd, r, slot);
        /* the readback rides in this command buffer: no submission of its own (sedx_frame_end
         * gives it this frame's submission) */
        ts = now_s();
        pick = sedx_download_async_record(r->ctx, &cmd, &r->pick, (uint64_t)slot * 16, 16, &r->picks[slot].req) ==
               SEDX_SUCCESS;
        sedx_s += now_s() - ts;
        r->picks[slot].busy = pick;
        r->picks[slot].frame = index;
        if (pick) r->pick_next = (slot + 1) % PICK_SLOTS;
    } else {
        view_image_barrier(cmd.cmd, r->id.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                           VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                           VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    }
    sedx_ticket tk;
    if (sedx_cmd_submit(r->ctx, &cmd, NULL, &tk) != SEDX_SUCCESS) return VIEW_EXIT_GPU;
    ts = now_s();
    /* what the frame left behind, for sedx's destruction and readback ordering */
    sr = sedx_image_set_layout(&r->color, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
    if (sr == SEDX_SUCCESS) sr = sedx_image_set_layout(&r->id, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    if (sr == SEDX_SUCCESS) sr = sedx_image_set_layout(&r->depth, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL);
    if (sr == SEDX_SUCCESS) sr = sedx_image_mark_used(&r->color, tk);
    if (sr == SEDX_SUCCESS) sr = sedx_image_mark_used(&r->id, tk);
    if (sr == SEDX_SUCCESS) sr = sedx_image_mark_used(&r->depth, tk);
    if (sr == SEDX_SUCCESS) sr = sedx_buffer_mark_used(&r->pick, tk);
    sedx_result er = sedx_frame_end(r->ctx, frame, tk); /* the frame ends in any case */
    if (sr == SEDX_SUCCESS) sr = er;
    sedx_s += now_s() - ts;
    res->cpu_ms = (now_s() - t0) * 1e3;
    res->sedx_us = sedx_s * 1e6;
    res->picked = r->picked;
    return sr == SEDX_SUCCESS ? VIEW_OK : VIEW_EXIT_GPU;
}

int view_renderer_finish(view_renderer *r, int64_t *picked)
{
    if (sedx_context_wait_idle(r->ctx) != SEDX_SUCCESS) return VIEW_EXIT_GPU;
    for (uint32_t k = 0; k < PICK_SLOTS; ++k) {
        pick_slot *p = &r->picks[(r->pick_next + k) % PICK_SLOTS];
        if (p->busy && sedx_download_wait(r->ctx, &p->req, UINT64_MAX) != SEDX_SUCCESS) return VIEW_EXIT_GPU;
    }
    take_picks(r, UINT32_MAX);
    *picked = r->picked;
    return VIEW_OK;
}

int view_renderer_read_color(view_renderer *r, uint8_t *rgba)
{
    sedx_image_region all = {0};
    return sedx_download_image(r->ctx, &r->color, &all, rgba) == SEDX_SUCCESS ? VIEW_OK : VIEW_EXIT_GPU;
}

int view_renderer_read_ids(view_renderer *r, uint32_t *ids)
{
    sedx_image_region all = {0};
    return sedx_download_image(r->ctx, &r->id, &all, ids) == SEDX_SUCCESS ? VIEW_OK : VIEW_EXIT_GPU;
}

uint32_t view_renderer_pick_latency(const view_renderer *r) { return r->pick_latency; }

void view_renderer_destroy(view_renderer *r)
{
    if (!r) return;
    sedx_context_wait_idle(r->ctx); /* the pipeline is a plain Vulkan object (see view_gpu_free) */
    for (uint32_t k = 0; k < PICK_SLOTS; ++k)
        if (r->picks[k].busy) sedx_download_cancel(r->ctx, &r->picks[k].req);
    if (r->pipe) vkDestroyPipeline(r->dev, r->pipe, NULL);
    if (r->layout) vkDestroyPipelineLayout(r->dev, r->layout, NULL);
    sedx_buffer_release(&r->pick);
    sedx_image_release(&r->color);
    sedx_image_release(&r->id);
    sedx_image_release(&r->depth);
    free(r);
}
