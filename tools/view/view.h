/* sedx-view: renders a 3D model through the sedx buffer system (docs/viewer.md). Shared types. */
#ifndef SEDX_VIEW_H
#define SEDX_VIEW_H

#include <sedx/sedx.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define VIEW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VIEW_PRINTF(f, a)
#endif

/* Writes the message into err (errlen bytes) and returns code: `return view_fail(err, errlen,
 * VIEW_EXIT_GPU, "...", ...);` at the point of failure (fail.c). */
int view_fail(char *err, size_t errlen, int code, const char *fmt, ...) VIEW_PRINTF(4, 5);

/* One image memory barrier over mip 0, layer 0 of img's aspect (render.c). */
void view_image_barrier(VkCommandBuffer cb, VkImage img, VkImageAspectFlags aspect, VkImageLayout from,
                        VkImageLayout to, VkPipelineStageFlags ss, VkAccessFlags sa, VkPipelineStageFlags ds,
                        VkAccessFlags da);

/* Exit codes (docs/viewer.md): each bad-input class has its own. */
enum {
    VIEW_OK = 0,
    VIEW_EXIT_USAGE = 1,      /* bad command line or configuration file */
    VIEW_EXIT_LOAD = 2,       /* the model file is missing or assimp cannot read it */
    VIEW_EXIT_MODEL = 3,      /* the model has no meshes, or bad data (indices, non-finite positions) */
    VIEW_EXIT_LIMITS = 4,     /* the model exceeds the device's limits */
    VIEW_EXIT_TEXTURE = 5,    /* rendered, but a texture was missing or unreadable (a checker stands in) */
    VIEW_EXIT_GPU = 6,        /* Vulkan / sedx failure, or validation messages */
    VIEW_EXIT_OUTPUT = 7,     /* an output file could not be written */
    VIEW_EXIT_NO_RAYTRACING = 8 /* --raytrace on a device without acceleration structures or ray-tracing pipelines */
};

typedef struct view_options {
    char model[1024];
    uint32_t width, height;
    uint32_t frames;
    uint32_t frames_in_flight;
    int32_t pick_x, pick_y;    /* -1: the centre */
    char out_dir[1024];
    char device[256];          /* "" = sedx's choice */
    bool bench;                /* also measure upload rate against a raw staging copy */
    bool quiet;
    bool validation;
    bool sync_validation;      /* synchronization validation too */
    bool allow_missing_textures; /* exit 0 instead of VIEW_EXIT_TEXTURE */
    bool raytrace;             /* also trace the last frame's primary rays: raytrace.png, the ID comparison */
} view_options;

/* config.c: defaults, then the JSON file (--config), then the command line. Returns an exit code. */
int view_options_parse(int argc, char **argv, view_options *o);

typedef struct view_vertex {
    float pos[3], normal[3], uv[2];
} view_vertex;

typedef struct view_mesh {
    char name[128];
    uint32_t first_index, index_count;
    uint32_t first_vertex, vertex_count;
    uint32_t material;
} view_mesh;

typedef struct view_object {   /* one node's instance of one mesh */
    uint32_t mesh;
    float model[16];           /* column-major world transform */
} view_object;

typedef struct view_image {    /* decoded RGBA8 texels */
    uint32_t width, height;
    uint8_t *rgba;
    char name[256];
} view_image;

typedef struct view_material {
    float base_color[4];
    int32_t texture;           /* index into textures, -1 = the checker */
} view_material;

typedef struct view_scene {
    view_vertex *vertices;
    uint32_t *indices;
    uint64_t vertex_count, index_count;
    view_mesh *meshes;
    uint32_t mesh_count;
    view_object *objects;
    uint32_t object_count;
    view_material *materials;
    uint32_t material_count;
    view_image *textures;
    uint32_t texture_count;
    uint32_t missing_textures;
    float bmin[3], bmax[3];    /* world bounds of every object */
} view_scene;

/* scene.c: loads with assimp; returns an exit code, with the reason in err. */
int view_scene_load(const char *path, view_scene *s, char *err, size_t errlen);
void view_scene_free(view_scene *s);
/* texture.c */
bool view_image_load_file(const char *path, view_image *out);
bool view_image_load_memory(const void *data, size_t size, view_image *out);
void view_image_checker(view_image *out);
void view_image_free(view_image *img);
/* png.c */
bool view_png_write(const char *path, const uint8_t *rgba, uint32_t width, uint32_t height);

/* GPU side: gpu.c (geometry, materials, textures), render.c (targets, pipeline, frames). */
typedef struct view_gpu {
    sedx_context *ctx;
    sedx_buffer vertices, indices, materials;
    sedx_image *textures;      /* texture_count + 1: the last one is the checker */
    uint32_t texture_count;
    VkSampler sampler;
    VkDescriptorSetLayout set_layout;
    VkDescriptorPool pool;
    VkDescriptorSet *sets;     /* one per texture */
    uint64_t geometry_bytes, texture_bytes;
} view_gpu;

/* MeshModule: the vertex and index buffers (extra_usage added to both: the acceleration-structure
 * input usage with --raytrace); MaterialModule: textures (with mips), materials, descriptor sets;
 * then view_gpu_resident waits until all of it is on the GPU. */
int view_gpu_upload_geometry(sedx_context *ctx, const view_scene *s, view_gpu *g, sedx_buffer_usage_flags extra_usage,
                             bool quiet, char *err, size_t errlen);
int view_gpu_upload_materials(sedx_context *ctx, const view_scene *s, view_gpu *g, char *err, size_t errlen);
int view_gpu_resident(sedx_context *ctx, char *err, size_t errlen);
/* The benchmark's upload-only pass: textures get level 0 only (no blits). */
void view_gpu_set_no_mips(bool no_mips);
void view_gpu_free(view_gpu *g);

/* The camera of one frame, as the raster pass draws it (render.c). */
typedef struct view_camera {
    float view[16], proj[16];  /* column-major; proj has Vulkan's y pointing down, depth 0..1 */
    float eye[3];
    float znear, zfar;
    float light_dir[3];        /* the direction the light travels */
} view_camera;

typedef struct view_renderer view_renderer;
typedef struct view_frame_result {
    double cpu_ms;             /* recording + submission of the frame */
    double sedx_us;            /* of which in sedx calls (frame, transient, readback), waits excluded */
    double gpu_wait_us;        /* sedx_frame_begin waiting for the GPU to free the frame's slot */
    int64_t picked;            /* object index under the pick pixel, -1 background, -2 not yet */
} view_frame_result;

int view_renderer_create(sedx_context *ctx, const view_options *o, const view_scene *s, const view_gpu *g,
                         view_renderer **out, char *err, size_t errlen);
int view_renderer_frame(view_renderer *r, uint32_t index, view_frame_result *res);
/* Waits for the outstanding frames and picking readbacks; the latest picked object. */
int view_renderer_finish(view_renderer *r, int64_t *picked);
int view_renderer_read_color(view_renderer *r, uint8_t *rgba);
/* The object-ID target after the last frame: width * height IDs, 0 background, else object + 1. */
int view_renderer_read_ids(view_renderer *r, uint32_t *ids);
/* The camera frame `index` is drawn with (the orbit framing the scene's bounds). */
void view_renderer_camera(const view_renderer *r, uint32_t index, view_camera *out);
uint32_t view_renderer_pick_latency(const view_renderer *r);
void view_renderer_destroy(view_renderer *r);

/* --raytrace. raytrace_as.c: the scene's acceleration structures: one BLAS per mesh (one build
 * from the shared vertex and index buffers), one TLAS instance per object (its world transform,
 * custom index = its picking ID, object + 1). */
typedef struct view_rt_scene {
    sedx_acceleration_structure *blas; /* one per mesh */
    uint32_t blas_count;
    sedx_acceleration_structure tlas;
    sedx_buffer instances;             /* VkAccelerationStructureInstanceKHR per object */
    uint32_t instance_count;
    uint64_t bytes;                    /* storage of every structure */
} view_rt_scene;
int view_rt_scene_build(sedx_context *ctx, const view_scene *s, const view_gpu *g, view_rt_scene *out, char *err,
                        size_t errlen);
void view_rt_scene_free(sedx_context *ctx, view_rt_scene *rs);

/* raytrace_pipeline.c: the ray-tracing pipeline (raygen, miss, closest hit; set 0: the TLAS,
 * the colour and the ID storage images; push constants: the trace parameters' address) and its
 * shader binding table. */
typedef struct view_rt_pipeline {
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipe;
    PFN_vkCmdTraceRaysKHR trace_rays;
    sedx_sbt sbt;
} view_rt_pipeline;
int view_rt_pipeline_create(sedx_context *ctx, view_rt_pipeline *out, char *err, size_t errlen);
void view_rt_pipeline_destroy(sedx_context *ctx, view_rt_pipeline *p);

/* raytrace.c: the traced image: one primary ray per pixel from the inverse of a raster camera,
 * the colour (RGBA8) and the object IDs (R32_UINT, the raster target's values) read back. */
typedef struct view_tracer view_tracer;
typedef struct view_trace_stats {
    double trace_ms;           /* vkCmdTraceRaysKHR on the GPU (timestamps), else submit to done */
    bool gpu_timed;
    uint32_t blas_count, instance_count;
    uint64_t as_bytes, sbt_bytes;
} view_trace_stats;
int view_tracer_create(sedx_context *ctx, const view_options *o, const view_scene *s, const view_gpu *g,
                       view_tracer **out, char *err, size_t errlen);
/* rgba: width * height * 4 bytes; ids: width * height. */
int view_tracer_trace(view_tracer *t, const view_camera *cam, uint8_t *rgba, uint32_t *ids, view_trace_stats *st,
                      char *err, size_t errlen);
void view_tracer_destroy(view_tracer *t);

/* ids.c: two object-ID images compared where either has an object. */
typedef struct view_id_match {
    uint64_t covered;          /* pixels where either image has an object (ID != 0) */
    uint64_t matching;         /* of those, pixels with the same ID in both */
    double ratio;              /* matching / covered (0 when nothing is covered) */
} view_id_match;
view_id_match view_ids_compare(const uint32_t *a, const uint32_t *b, size_t pixels);

/* bench.c: --bench: the scene's upload through sedx against a raw staging copy of the same
 * bytes, alternating, in the same run. */
typedef struct view_bench {
    double upload_gbps;   /* geometry + textures' level 0 created and uploaded, GPU-resident */
    double full_gbps;     /* the same with the mip chains blitted (what the viewer does) */
    double raw_gbps;      /* memcpy into a staging buffer + one vkCmdCopyBuffer of the same bytes */
    uint64_t bytes;
} view_bench;
int view_bench_upload(sedx_context *ctx, const view_scene *s, uint32_t runs, FILE *log, view_bench *out);

#endif
