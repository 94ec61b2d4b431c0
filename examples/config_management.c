/*
 * The seed's "Integration with Module System: Configuration Management"
 * (ConfigurableBufferModule with BufferConfig::ToJSON / FromJSON over nlohmann::json).
 *
 * OnAttach loads "<dir>/config/<GetName()>.json" (missing file: the defaults) and creates its
 * buffers from the configuration; OnDetach saves it. nlohmann's j.value(key, default) is
 * sedx_config_get_u64/get_bool(cfg, key, default): a missing key gives the default, a value of
 * the wrong type gives the default and a logged warning. Unlike the seed, keys the module does
 * not know survive its save, and a malformed file is reported (SEDX_ERROR_PARSE with line and
 * column) and then ignored.
 *
 * main() runs the module three times in a temporary directory: defaults and first save; a
 * hand-edited file (new sizes, debug names off, a value of the wrong type, an unknown key);
 * a malformed file. Each time it checks the buffers created and the file written.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <sedx/sedx.h>
#include <sedx/module.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "example.h"

typedef struct buffer_config { /* BufferConfig */
    uint64_t max_vertex_buffer_size;
    uint64_t max_index_buffer_size;
    uint64_t uniform_buffer_size;
    bool enable_debug_names;
} buffer_config;

static const buffer_config k_default_config = {
    .max_vertex_buffer_size = 64u << 20, /* 64MB */
    .max_index_buffer_size = 16u << 20,  /* 16MB */
    .uniform_buffer_size = 1024,         /* 1KB */
    .enable_debug_names = true,
};

static sedx_result buffer_config_to_json(const buffer_config *c, sedx_config *j) /* ToJSON */
{
    sedx_result r = sedx_config_set_u64(j, "maxVertexBufferSize", c->max_vertex_buffer_size);
    if (r == SEDX_SUCCESS) r = sedx_config_set_u64(j, "maxIndexBufferSize", c->max_index_buffer_size);
    if (r == SEDX_SUCCESS) r = sedx_config_set_u64(j, "uniformBufferSize", c->uniform_buffer_size);
    if (r == SEDX_SUCCESS) r = sedx_config_set_bool(j, "enableDebugNames", c->enable_debug_names);
    return r;
}

static void buffer_config_from_json(buffer_config *c, const sedx_config *j) /* FromJSON */
{
    const buffer_config *d = &k_default_config;
    c->max_vertex_buffer_size = sedx_config_get_u64(j, "maxVertexBufferSize", d->max_vertex_buffer_size);
    c->max_index_buffer_size = sedx_config_get_u64(j, "maxIndexBufferSize", d->max_index_buffer_size);
    c->uniform_buffer_size = sedx_config_get_u64(j, "uniformBufferSize", d->uniform_buffer_size);
    c->enable_debug_names = sedx_config_get_bool(j, "enableDebugNames", d->enable_debug_names);
}

typedef struct configurable_module {
    const char *config_dir; /* "config" in the seed */
    buffer_config config;   /* m_Config */
    sedx_config *json;      /* the file as loaded: unknown keys are saved back */
    sedx_buffer vertex_buffer, index_buffer, uniform_buffer;
} configurable_module;

static void config_path(sedx_module *m, const configurable_module *self, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.json", self->config_dir, sedx_module_name(m)); /* fmt::format("config/{}.json", ...) */
}

static void load_configuration(sedx_module *m, configurable_module *self) /* LoadConfiguration */
{
    char path[512];
    config_path(m, self, path, sizeof path);
    self->config = k_default_config;
    sedx_result r = sedx_config_load(path, &self->json); /* a missing file: empty, not an error */
    if (r != SEDX_SUCCESS) {
        SEDX_LOG_WARN_TAG("CONFIG", "Failed to load buffer config: %s", sedx_result_string(r));
        if (sedx_config_create(&self->json) != SEDX_SUCCESS) self->json = NULL;
        return;
    }
    buffer_config_from_json(&self->config, self->json);
    if (sedx_config_count(self->json)) SEDX_LOG_INFO_TAG("CONFIG", "Loaded buffer config for %s", sedx_module_name(m));
}

static void save_configuration(sedx_module *m, configurable_module *self) /* SaveConfiguration */
{
    char path[512];
    config_path(m, self, path, sizeof path);
    sedx_result r = self->json ? buffer_config_to_json(&self->config, self->json) : SEDX_ERROR_OUT_OF_HOST_MEMORY;
    if (r == SEDX_SUCCESS) r = sedx_config_save(self->json, path);
    if (r != SEDX_SUCCESS) SEDX_LOG_WARN_TAG("CONFIG", "Failed to save buffer config: %s", sedx_result_string(r));
}

static void release_all(configurable_module *self)
{
    sedx_buffer_release(&self->vertex_buffer);
    sedx_buffer_release(&self->index_buffer);
    sedx_buffer_release(&self->uniform_buffer);
    sedx_config_destroy(self->json);
    self->json = NULL;
}

static sedx_result create_buffers_from_config(sedx_module *m, configurable_module *self)
{
    sedx_context *ctx = sedx_module_context(m);
    const buffer_config *c = &self->config;
    const char *prefix = c->enable_debug_names ? sedx_module_name(m) : "";
    const char *space = c->enable_debug_names ? " " : "";
    char name[128];
    snprintf(name, sizeof name, "%s%sVertex Buffer", prefix, space);
    sedx_result r = sedx_buffer_create(ctx, c->max_vertex_buffer_size, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU, name,
                                       &self->vertex_buffer);
    snprintf(name, sizeof name, "%s%sIndex Buffer", prefix, space);
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(ctx, c->max_index_buffer_size, SEDX_BUFFER_USAGE_INDEX, SEDX_MEMORY_GPU, name,
                               &self->index_buffer);
    snprintf(name, sizeof name, "%s%sUniform Buffer", prefix, space);
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(ctx, c->uniform_buffer_size, SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_CPU, name,
                               &self->uniform_buffer);
    return r;
}

static sedx_result configurable_attach(sedx_module *m) /* ConfigurableBufferModule::OnAttach */
{
    configurable_module *self = sedx_module_user(m);
    load_configuration(m, self);
    sedx_result r = create_buffers_from_config(m, self);
    if (r != SEDX_SUCCESS) release_all(self);
    return r;
}

static void configurable_detach(sedx_module *m) /* ConfigurableBufferModule::OnDetach */
{
    configurable_module *self = sedx_module_user(m);
    save_configuration(m, self);
    release_all(self);
}

/* --- the application: one module on a stack, a few frames, then checks --------------------- */

/* --- one run of the application: attach, a few frames, detach ------------------------------ */
typedef struct run_result {
    uint64_t vertex_size, index_size, uniform_size;
    char vertex_name[128];
} run_result;

static sedx_result run_once(sedx_context *ctx, const char *config_dir, run_result *out)
{
    sedx_module_stack *stack = NULL;
    sedx_result r = sedx_module_stack_create(ctx, &stack);
    configurable_module cm = {.config_dir = config_dir};
    sedx_module_desc desc = {.name = "ConfigurableBufferModule", .user = &cm, .on_attach = configurable_attach,
                             .on_detach = configurable_detach};
    if (r == SEDX_SUCCESS) r = sedx_module_push(stack, &desc, NULL);
    if (r == SEDX_SUCCESS) {
        for (int frame = 0; frame < 2; ++frame) sedx_module_stack_update(stack, 1.0 / 60.0);
        *out = (run_result){cm.vertex_buffer.size, cm.index_buffer.size, cm.uniform_buffer.size, ""};
        snprintf(out->vertex_name, sizeof out->vertex_name, "%s", sedx_buffer_name(&cm.vertex_buffer));
    }
    sedx_module_stack_destroy(stack); /* OnDetach saves */
    return r;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

int main(void)
{
    sedx_set_logger(logger, NULL);
    sedx_context_info info = {.flags = SEDX_CONTEXT_VALIDATION, .app_name = "config_management"};
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_context_create: %s\n", sedx_result_string(r));
        return 1;
    }
    char base[] = "/tmp/sedx-config-example-XXXXXX", dir[64], file[160];
    if (!mkdtemp(base)) return 1;
    snprintf(dir, sizeof dir, "%s/config", base);
    snprintf(file, sizeof file, "%s/ConfigurableBufferModule.json", dir);
    mkdir(dir, 0755);

    /* 1. No file yet: the defaults; OnDetach writes them. */
    run_result run;
    r = run_once(ctx, dir, &run);
    CHECK(r == SEDX_SUCCESS, "run 1: %s", sedx_result_name(r));
    CHECK(run.vertex_size == 64u << 20 && run.index_size == 16u << 20 && run.uniform_size == 1024, "defaults");
    CHECK(strcmp(run.vertex_name, "ConfigurableBufferModule Vertex Buffer") == 0, "debug names");
    sedx_config *saved = NULL;
    r = sedx_config_load(file, &saved);
    CHECK(r == SEDX_SUCCESS && sedx_config_count(saved) == 4, "run 1 saved 4 keys");
    buffer_config round_trip;
    buffer_config_from_json(&round_trip, saved);
    CHECK(round_trip.max_vertex_buffer_size == k_default_config.max_vertex_buffer_size &&
              round_trip.max_index_buffer_size == k_default_config.max_index_buffer_size &&
              round_trip.uniform_buffer_size == k_default_config.uniform_buffer_size &&
              round_trip.enable_debug_names == k_default_config.enable_debug_names,
          "round trip of the defaults");
    char text[1024];
    sedx_config_format(saved, text, sizeof text);
    printf("run 1 (no file): defaults, saved %s:\n%s\n", file, text);
    sedx_config_destroy(saved);

    /* 2. The user edits the file: other sizes, no debug names, a string where a number belongs
     *    (default + one warning), a key the module does not know (kept). */
    write_text(file, "{\n  \"maxVertexBufferSize\": 1048576,\n  \"maxIndexBufferSize\": \"256K\",\n"
                     "  \"uniformBufferSize\": 4096,\n  \"enableDebugNames\": false,\n"
                     "  \"comment\": \"edited by hand\"\n}\n");
    unsigned problems = g_sedx_problems;
    r = run_once(ctx, dir, &run);
    CHECK(r == SEDX_SUCCESS, "run 2: %s", sedx_result_name(r));
    CHECK(g_sedx_problems - problems == 1, "one warning for \"256K\"");
    g_sedx_problems = problems;
    CHECK(run.vertex_size == 1u << 20 && run.index_size == 16u << 20 && run.uniform_size == 4096, "edited sizes");
    CHECK(strcmp(run.vertex_name, "Vertex Buffer") == 0, "no debug names: '%s'", run.vertex_name);
    r = sedx_config_load(file, &saved);
    CHECK(r == SEDX_SUCCESS, "reload: %s", sedx_result_name(r));
    CHECK(strcmp(sedx_config_get_string(saved, "comment", ""), "edited by hand") == 0, "unknown key kept");
    CHECK(sedx_config_get_u64(saved, "maxIndexBufferSize", 0) == 16u << 20, "wrong type replaced by the default");
    sedx_config_format(saved, text, sizeof text);
    printf("run 2 (edited file): vertex %llu, index %llu, uniform %llu bytes, names without prefix; saved:\n%s\n",
           (unsigned long long)run.vertex_size, (unsigned long long)run.index_size,
           (unsigned long long)run.uniform_size, text);
    sedx_config_destroy(saved);

    /* 3. A malformed file: SEDX_ERROR_PARSE (sedx logs it with line:column), the module warns and
     *    runs with the defaults, and its save repairs the file. */
    write_text(file, "{\n  \"maxVertexBufferSize\": 1024,\n");
    problems = g_sedx_problems;
    r = run_once(ctx, dir, &run);
    CHECK(r == SEDX_SUCCESS, "run 3: %s", sedx_result_name(r));
    CHECK(g_sedx_problems - problems == 2, "a parse error and the module's warning");
    g_sedx_problems = problems;
    CHECK(run.vertex_size == 64u << 20, "defaults after a malformed file");
    r = sedx_config_load(file, &saved);
    CHECK(r == SEDX_SUCCESS && sedx_config_count(saved) == 4, "run 3 saved a valid file");
    sedx_config_destroy(saved);
    printf("run 3 (malformed file): defaults, file rewritten\n");

    unlink(file);
    rmdir(dir);
    rmdir(base);
    CHECK(sedx_context_validation_error_count(ctx) == 0, "validation errors");
    CHECK(sedx_context_validation_warning_count(ctx) == 0, "validation warnings");
    sedx_context_destroy(ctx);
    CHECK(g_sedx_problems == 0, "sedx logged %u unexpected warnings/errors", g_sedx_problems);
    printf("config_management: %s\n", g_failures ? "FAILED" : "OK");
    return g_failures ? 1 : 0;
}
