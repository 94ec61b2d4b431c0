/*
 * sedx-view's settings: defaults, then a JSON file (--config FILE, read with sedx_config; keys
 * "model", "width", "height", "frames", "frames_in_flight", "pick_x", "pick_y", "out", "device",
 * "validation", "raytrace"), then the command line, which overrides both.
 */
#include "view.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MODEL "/usr/share/assimp/models/OBJ/spider.obj"

static void usage(void)
{
    fprintf(stderr,
            "usage: sedx-view [--model FILE] [--size WxH] [--frames N] [--frames-in-flight N] [--pick X,Y]\n"
            "                 [--out DIR] [--device NAME|INDEX] [--config FILE] [--validation] [--sync-validation]\n"
            "                 [--bench] [--raytrace]"
            " [--allow-missing-textures] [--quiet] [FILE]\n"
            "  renders FILE (any format assimp reads; default " DEFAULT_MODEL ")\n"
            "  offscreen for N frames (default 60) and writes DIR/frame.png, DIR/stats.json, DIR/trace.json and\n"
            "  DIR/memory.json, DIR/memory.png (default DIR: sedx-view-out); --raytrace also traces the last\n"
            "  frame's primary rays into DIR/raytrace.png and compares its object IDs with the raster image's\n"
            "  (needs a device with ray tracing: exit code 8 without). Exit codes: docs/viewer.md.\n");
}

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_size(const char *s, uint32_t *w, uint32_t *h)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *x = strchr(buf, 'x');
    if (!x) return false;
    *x = '\0';
    return parse_u32(buf, 1, 16384, w) && parse_u32(x + 1, 1, 16384, h);
}

static bool parse_pick(const char *s, int32_t *x, int32_t *y)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *c = strchr(buf, ',');
    uint32_t a, b;
    if (!c) return false;
    *c = '\0';
    if (!parse_u32(buf, 0, 16383, &a) || !parse_u32(c + 1, 0, 16383, &b)) return false;
    *x = (int32_t)a;
    *y = (int32_t)b;
    return true;
}

/* A string key, where the file has it (the default passed to sedx_config_get_string would be dst
 * itself: snprintf from a buffer into itself is undefined, and glibc's left it empty). */
static void get_str(const sedx_config *cfg, const char *key, char *dst, size_t cap)
{
    const char *v = sedx_config_get_string(cfg, key, NULL);
    if (v) snprintf(dst, cap, "%s", v);
}

static int apply_file(const char *path, view_options *o)
{
    sedx_config *cfg;
    FILE *fp = fopen(path, "rb"); /* sedx_config_load takes a missing file for an empty one: a named one must exist */
    if (fp) fclose(fp);
    if (!fp || sedx_config_load(path, &cfg) != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-view: cannot read the configuration '%s'\n", path);
        return VIEW_EXIT_USAGE;
    }
    get_str(cfg, "model", o->model, sizeof o->model);
    get_str(cfg, "out", o->out_dir, sizeof o->out_dir);
    get_str(cfg, "device", o->device, sizeof o->device);
    uint64_t w = sedx_config_get_u64(cfg, "width", o->width), h = sedx_config_get_u64(cfg, "height", o->height);
    uint64_t f = sedx_config_get_u64(cfg, "frames", o->frames);
    uint64_t fif = sedx_config_get_u64(cfg, "frames_in_flight", o->frames_in_flight);
    int64_t px = sedx_config_get_i64(cfg, "pick_x", o->pick_x), py = sedx_config_get_i64(cfg, "pick_y", o->pick_y);
    o->validation = sedx_config_get_bool(cfg, "validation", o->validation);
    o->raytrace = sedx_config_get_bool(cfg, "raytrace", o->raytrace);
    sedx_config_destroy(cfg);
    if (!w || w > 16384 || !h || h > 16384 || !f || f > 1000000 || !fif || fif > SEDX_MAX_FRAMES_IN_FLIGHT ||
        px < -1 || px > 16383 || py < -1 || py > 16383) {
        fprintf(stderr, "sedx-view: '%s': a value is out of range\n", path);
        return VIEW_EXIT_USAGE;
    }
    o->width = (uint32_t)w, o->height = (uint32_t)h, o->frames = (uint32_t)f, o->frames_in_flight = (uint32_t)fif;
    o->pick_x = (int32_t)px, o->pick_y = (int32_t)py;
    return VIEW_OK;
}

/* One option; *i is moved past its value. false: not understood. */
static bool apply_arg(int argc, char **argv, int *i, view_options *o)
{
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    bool ok = true, takes = true;
    if (!strcmp(a, "--model") && v) snprintf(o->model, sizeof o->model, "%s", v);
    else if (!strcmp(a, "--size") && v) ok = parse_size(v, &o->width, &o->height);
    else if (!strcmp(a, "--frames") && v) ok = parse_u32(v, 1, 1000000, &o->frames);
    else if (!strcmp(a, "--frames-in-flight") && v) ok = parse_u32(v, 1, SEDX_MAX_FRAMES_IN_FLIGHT, &o->frames_in_flight);
    else if (!strcmp(a, "--pick") && v) ok = parse_pick(v, &o->pick_x, &o->pick_y);
    else if (!strcmp(a, "--out") && v) snprintf(o->out_dir, sizeof o->out_dir, "%s", v);
    else if (!strcmp(a, "--device") && v) snprintf(o->device, sizeof o->device, "%s", v);
    else if (!strcmp(a, "--config") && v) { /* read before the other options, in view_options_parse */ }
    else {
        takes = false;
        if (!strcmp(a, "--validation")) o->validation = true;
        else if (!strcmp(a, "--sync-validation")) o->validation = o->sync_validation = true;
        else if (!strcmp(a, "--bench")) o->bench = true;
        else if (!strcmp(a, "--raytrace")) o->raytrace = true;
        else if (!strcmp(a, "--quiet")) o->quiet = true;
        else if (!strcmp(a, "--allow-missing-textures")) o->allow_missing_textures = true;
        else if (a[0] != '-') snprintf(o->model, sizeof o->model, "%s", a);
        else ok = false;
    }
    if (takes) (*i)++;
    return ok;
}

int view_options_parse(int argc, char **argv, view_options *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->model, sizeof o->model, "%s", DEFAULT_MODEL);
    snprintf(o->out_dir, sizeof o->out_dir, "sedx-view-out");
    o->width = 1280;
    o->height = 720;
    o->frames = 60;
    o->frames_in_flight = 2;
    o->pick_x = o->pick_y = -1;
    const char *env = getenv("SEDX_VALIDATION");
    o->validation = env && env[0] == '1';
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return -1;
        }
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            int rc = apply_file(argv[i + 1], o);
            if (rc != VIEW_OK) return rc;
        }
    }
    for (int i = 1; i < argc; ++i) {
        if (!apply_arg(argc, argv, &i, o)) {
            fprintf(stderr, "sedx-view: bad or incomplete option '%s'\n", argv[i]);
            usage();
            return VIEW_EXIT_USAGE;
        }
    }
    if ((o->pick_x >= 0 && (uint32_t)o->pick_x >= o->width) || (o->pick_y >= 0 && (uint32_t)o->pick_y >= o->height)) {
        fprintf(stderr, "sedx-view: pick pixel (%d,%d) is outside %ux%u\n", o->pick_x, o->pick_y, o->width, o->height);
        return VIEW_EXIT_USAGE;
    }
    return VIEW_OK;
}
