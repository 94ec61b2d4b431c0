/*
 * The model, read with assimp's C API into arrays sedx uploads as they are: one vertex array
 * (position, normal, uv) and one index array for every mesh, the node tree flattened into
 * objects (mesh + world transform), materials with their base colour and base colour texture.
 * Every bad input is refused with its reason: files assimp cannot read, meshes that are not
 * triangles only, indices out of range, non-finite positions, no meshes at all.
 */
#include "view.h"
#include "view_math.h"

#include <assimp/cimport.h>
#include <assimp/material.h>
#include <assimp/postprocess.h>
#include <assimp/scene.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A string cut to fit (assimp's are up to 1024 bytes). */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void mesh_name(const struct aiMesh *m, uint32_t index, char *out, size_t cap)
{
    if (m->mName.length) copy_str(out, cap, m->mName.data);
    else snprintf(out, cap, "mesh %u", index);
}

/* Counts first, so the arrays are allocated once. Triangle meshes only (assimp's
 * SortByPType splits mixed ones); point and line meshes are skipped with a note. */
static int count_geometry(const struct aiScene *sc, view_scene *s, uint32_t *kept, char *err, size_t errlen)
{
    uint64_t v = 0, i = 0;
    uint32_t n = 0;
    for (uint32_t m = 0; m < sc->mNumMeshes; ++m) {
        const struct aiMesh *mesh = sc->mMeshes[m];
        kept[m] = UINT32_MAX;
        /* the low bits: point, line, triangle, polygon (assimp 5.2 adds an n-gon encoding flag above) */
        if ((mesh->mPrimitiveTypes & 0xF) != aiPrimitiveType_TRIANGLE || !mesh->mNumFaces) continue;
        kept[m] = n++;
        v += mesh->mNumVertices;
        i += (uint64_t)mesh->mNumFaces * 3;
    }
    if (!n) return view_fail(err, errlen, VIEW_EXIT_MODEL, "the model has no triangle meshes");
    if (v > UINT32_MAX || i > UINT32_MAX)
        return view_fail(err, errlen, VIEW_EXIT_LIMITS, "%llu vertices, %llu indices: more than 32-bit indices address",
                    (unsigned long long)v, (unsigned long long)i);
    s->vertices = malloc(v * sizeof *s->vertices);
    s->indices = malloc(i * sizeof *s->indices);
    s->meshes = calloc(n, sizeof *s->meshes);
    if (!s->vertices || !s->indices || !s->meshes) return view_fail(err, errlen, VIEW_EXIT_LIMITS, "out of host memory");
    s->mesh_count = n;
    return VIEW_OK;
}

static int copy_mesh(const struct aiMesh *mesh, uint32_t index, view_scene *s, view_mesh *out, char *err,
                     size_t errlen)
{
    mesh_name(mesh, index, out->name, sizeof out->name);
    out->first_vertex = (uint32_t)s->vertex_count;
    out->vertex_count = mesh->mNumVertices;
    out->first_index = (uint32_t)s->index_count;
    out->material = mesh->mMaterialIndex;
    for (uint32_t v = 0; v < mesh->mNumVertices; ++v) {
        view_vertex *d = &s->vertices[s->vertex_count + v];
        const struct aiVector3D p = mesh->mVertices[v];
        if (!isfinite(p.x) || !isfinite(p.y) || !isfinite(p.z))
            return view_fail(err, errlen, VIEW_EXIT_MODEL, "mesh '%s': vertex %u has a non-finite position (%g, %g, %g)",
                        out->name, v, p.x, p.y, p.z);
        struct aiVector3D nm = mesh->mNormals ? mesh->mNormals[v] : (struct aiVector3D){0, 0, 1};
        if (!isfinite(nm.x) || !isfinite(nm.y) || !isfinite(nm.z)) nm = (struct aiVector3D){0, 0, 1};
        struct aiVector3D uv = mesh->mTextureCoords[0] ? mesh->mTextureCoords[0][v] : (struct aiVector3D){0, 0, 0};
        if (!isfinite(uv.x) || !isfinite(uv.y)) uv = (struct aiVector3D){0, 0, 0};
        *d = (view_vertex){{p.x, p.y, p.z}, {nm.x, nm.y, nm.z}, {uv.x, uv.y}};
    }
    for (uint32_t f = 0; f < mesh->mNumFaces; ++f) {
        const struct aiFace *face = &mesh->mFaces[f];
        if (face->mNumIndices != 3)
            return view_fail(err, errlen, VIEW_EXIT_MODEL, "mesh '%s': face %u has %u indices", out->name, f,
                        face->mNumIndices);
        for (int k = 0; k < 3; ++k) {
            if (face->mIndices[k] >= mesh->mNumVertices)
                return view_fail(err, errlen, VIEW_EXIT_MODEL, "mesh '%s': face %u index %u is out of range (%u vertices)",
                            out->name, f, face->mIndices[k], mesh->mNumVertices);
            s->indices[s->index_count++] = face->mIndices[k]; /* relative: the draw's vertexOffset adds first_vertex */
        }
    }
    out->index_count = (uint32_t)(s->index_count - out->first_index);
    s->vertex_count += mesh->mNumVertices;
    return VIEW_OK;
}

/* ---- nodes ---- */

/* assimp's aiMatrix4x4 is row-major (a1..a4 the first row); ours is column-major. */
static void from_ai(const struct aiMatrix4x4 *m, float out[16])
{
    const float rows[4][4] = {{m->a1, m->a2, m->a3, m->a4}, {m->b1, m->b2, m->b3, m->b4},
                              {m->c1, m->c2, m->c3, m->c4}, {m->d1, m->d2, m->d3, m->d4}};
    for (int c = 0; c < 4; ++c)
        for (int r = 0; r < 4; ++r) out[c * 4 + r] = rows[r][c];
}

typedef struct walk {
    const struct aiScene *sc;
    const uint32_t *kept;
    view_scene *s;
    uint32_t cap;
    int depth;
} walk;

static bool add_nodes(walk *w, const struct aiNode *node, const float parent[16])
{
    if (++w->depth > 256) return false; /* a cycle or an absurd tree (RecursiveNodes) */
    float local[16], world[16];
    from_ai(&node->mTransformation, local);
    vm_mul(parent, local, world);
    for (uint32_t i = 0; i < node->mNumMeshes; ++i) {
        uint32_t m = node->mMeshes[i];
        if (m >= w->sc->mNumMeshes || w->kept[m] == UINT32_MAX) continue;
        if (w->s->object_count == w->cap) {
            uint32_t cap = w->cap ? w->cap * 2 : 64;
            view_object *n = realloc(w->s->objects, cap * sizeof *n);
            if (!n) return false;
            w->s->objects = n;
            w->cap = cap;
        }
        view_object *o = &w->s->objects[w->s->object_count++];
        o->mesh = w->kept[m];
        memcpy(o->model, world, sizeof world);
    }
    for (uint32_t c = 0; c < node->mNumChildren; ++c)
        if (!add_nodes(w, node->mChildren[c], world)) return false;
    w->depth--;
    return true;
}

/* The world bounds; false where a world position is not finite (a node transform with an
 * infinite scale) or beyond VIEW_MAX_COORD, where the camera framing it would overflow a float. */
#define VIEW_MAX_COORD 1e36f
static bool grow_bounds(view_scene *s)
{
    for (int k = 0; k < 3; ++k) {
        s->bmin[k] = INFINITY;
        s->bmax[k] = -INFINITY;
    }
    for (uint32_t o = 0; o < s->object_count; ++o) {
        const view_object *ob = &s->objects[o];
        const view_mesh *m = &s->meshes[ob->mesh];
        for (uint32_t v = 0; v < m->vertex_count; ++v) {
            const float *p = s->vertices[m->first_vertex + v].pos;
            for (int k = 0; k < 3; ++k) {
                float x = ob->model[k] * p[0] + ob->model[4 + k] * p[1] + ob->model[8 + k] * p[2] + ob->model[12 + k];
                if (!(fabsf(x) <= VIEW_MAX_COORD)) return false; /* NaN too */
                if (x < s->bmin[k]) s->bmin[k] = x;
                if (x > s->bmax[k]) s->bmax[k] = x;
            }
        }
    }
    return true;
}

/* ---- materials and textures ---- */

static int32_t find_texture(const view_scene *s, const char *name)
{
    for (uint32_t i = 0; i < s->texture_count; ++i)
        if (strcmp(s->textures[i].name, name) == 0) return (int32_t)i;
    return -1;
}

/* assimp's embedded texture for a path: "*N", or by file name (glTF binary, FBX). */
static const struct aiTexture *embedded(const struct aiScene *sc, const char *path)
{
    if (path[0] == '*') {
        char *end;
        unsigned long i = strtoul(path + 1, &end, 10);
        return (!*end && i < sc->mNumTextures) ? sc->mTextures[i] : NULL;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (uint32_t i = 0; i < sc->mNumTextures; ++i) {
        const char *f = sc->mTextures[i]->mFilename.data, *fb = strrchr(f, '/');
        fb = fb ? fb + 1 : f;
        if (sc->mTextures[i]->mFilename.length && strcmp(fb, base) == 0) return sc->mTextures[i];
    }
    return NULL;
}

/* The base colour texture of a material: embedded ("*N" or by file name) or a file next to the
 * model (Windows separators accepted). -1 with a note when it cannot be read. */
static int32_t load_texture(const struct aiScene *sc, const char *dir, const struct aiString *path, view_scene *s)
{
    char name[256];
    copy_str(name, sizeof name, path->data);
    for (char *c = name; *c; ++c)
        if (*c == '\\') *c = '/';
    int32_t found = find_texture(s, name);
    if (found >= 0) return found;
    view_image img = {0};
    bool ok = false;
    const struct aiTexture *emb = embedded(sc, name);
    if (emb && emb->mHeight == 0) {
        ok = view_image_load_memory(emb->pcData, emb->mWidth, &img);
    } else if (emb) { /* raw BGRA texels */
        img.width = emb->mWidth;
        img.height = emb->mHeight;
        img.rgba = malloc((size_t)img.width * img.height * 4);
        for (size_t i = 0; img.rgba && i < (size_t)img.width * img.height; ++i) {
            const struct aiTexel *t = &emb->pcData[i];
            img.rgba[i * 4 + 0] = t->r;
            img.rgba[i * 4 + 1] = t->g;
            img.rgba[i * 4 + 2] = t->b;
            img.rgba[i * 4 + 3] = t->a;
        }
        ok = img.rgba != NULL;
    } else {
        char file[2048];
        const char *rel = strncmp(name, "./", 2) == 0 ? name + 2 : name;
        snprintf(file, sizeof file, "%s%s", rel[0] == '/' ? "" : dir, rel);
        ok = view_image_load_file(file, &img);
    }
    if (!ok) {
        fprintf(stderr, "sedx-view: texture '%s' is missing or unreadable: a checker stands in\n", name);
        s->missing_textures++;
        return -1;
    }
    view_image *n = realloc(s->textures, (s->texture_count + 1) * sizeof *n);
    if (!n) {
        view_image_free(&img);
        return -1;
    }
    s->textures = n;
    snprintf(img.name, sizeof img.name, "%s", name);
    s->textures[s->texture_count] = img;
    return (int32_t)s->texture_count++;
}

static int load_materials(const struct aiScene *sc, const char *dir, view_scene *s, char *err, size_t errlen)
{
    s->material_count = sc->mNumMaterials ? sc->mNumMaterials : 1;
    s->materials = calloc(s->material_count, sizeof *s->materials);
    if (!s->materials) return view_fail(err, errlen, VIEW_EXIT_LIMITS, "out of host memory");
    for (uint32_t i = 0; i < s->material_count; ++i) {
        view_material *m = &s->materials[i];
        m->base_color[0] = m->base_color[1] = m->base_color[2] = m->base_color[3] = 1.0f;
        m->texture = -1;
        if (i >= sc->mNumMaterials) continue;
        const struct aiMaterial *am = sc->mMaterials[i];
        struct aiColor4D c;
        if (aiGetMaterialColor(am, "$clr.base", 0, 0, &c) == aiReturn_SUCCESS ||
            aiGetMaterialColor(am, AI_MATKEY_COLOR_DIFFUSE, &c) == aiReturn_SUCCESS) {
            m->base_color[0] = c.r;
            m->base_color[1] = c.g;
            m->base_color[2] = c.b;
            m->base_color[3] = c.a;
        }
        struct aiString path;
        if (aiGetMaterialTexture(am, aiTextureType_BASE_COLOR, 0, &path, NULL, NULL, NULL, NULL, NULL, NULL) ==
                aiReturn_SUCCESS ||
            aiGetMaterialTexture(am, aiTextureType_DIFFUSE, 0, &path, NULL, NULL, NULL, NULL, NULL, NULL) ==
                aiReturn_SUCCESS) {
            m->texture = load_texture(sc, dir, &path, s);
            /* a textured OBJ/Collada material's diffuse colour is often black or grey: the texture is the colour */
            if (m->texture >= 0 && m->base_color[0] + m->base_color[1] + m->base_color[2] < 0.05f)
                m->base_color[0] = m->base_color[1] = m->base_color[2] = 1.0f;
        }
    }
    return VIEW_OK;
}

/* assimp repairs some broken files silently, dropping faces with out-of-range indices or
 * vertices that do not fill whole primitives, and only says so in its log: those warnings are
 * data errors here (the model on screen would not be the file's). */
static char g_dropped[512];
static void on_assimp_log(const char *msg, char *user)
{
    (void)user;
    if (g_dropped[0] || strncmp(msg, "Warn", 4) != 0) return;
    if (strstr(msg, "dropped") || strstr(msg, "out-of-range") || strstr(msg, "out of range")) {
        const char *text = strstr(msg, ": ");
        copy_str(g_dropped, sizeof g_dropped, text ? text + 2 : msg);
        size_t n = strlen(g_dropped);
        while (n && (g_dropped[n - 1] == '\n' || g_dropped[n - 1] == '\r')) g_dropped[--n] = '\0';
    }
}

int view_scene_load(const char *path, view_scene *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "rb");
    if (!f) return view_fail(err, errlen, VIEW_EXIT_LOAD, "cannot open '%s'", path);
    fclose(f);
    const unsigned flags = aiProcess_Triangulate | aiProcess_GenSmoothNormals | aiProcess_JoinIdenticalVertices |
                           aiProcess_SortByPType | aiProcess_ValidateDataStructure | aiProcess_FlipUVs;
    g_dropped[0] = '\0';
    struct aiLogStream log = {on_assimp_log, NULL};
    aiAttachLogStream(&log);
    const struct aiScene *sc = aiImportFile(path, flags);
    aiDetachLogStream(&log);
    if (!sc) return view_fail(err, errlen, VIEW_EXIT_LOAD, "assimp cannot read '%s': %s", path, aiGetErrorString());
    int rc = VIEW_OK;
    if (g_dropped[0]) rc = view_fail(err, errlen, VIEW_EXIT_MODEL, "'%s' has inconsistent data: %s", path, g_dropped);
    uint32_t *kept = calloc(sc->mNumMeshes ? sc->mNumMeshes : 1, sizeof *kept);
    if (rc == VIEW_OK && (!sc->mNumMeshes || !sc->mRootNode || (sc->mFlags & AI_SCENE_FLAGS_INCOMPLETE)))
        rc = view_fail(err, errlen, VIEW_EXIT_MODEL, "'%s' has no meshes (assimp read %u)", path, sc->mNumMeshes);
    if (rc == VIEW_OK) rc = count_geometry(sc, s, kept, err, errlen);
    for (uint32_t m = 0; rc == VIEW_OK && m < sc->mNumMeshes; ++m)
        if (kept[m] != UINT32_MAX) rc = copy_mesh(sc->mMeshes[m], m, s, &s->meshes[kept[m]], err, errlen);
    if (rc == VIEW_OK) {
        walk w = {sc, kept, s, 0, 0};
        float id[16];
        vm_identity(id);
        if (!add_nodes(&w, sc->mRootNode, id))
            rc = view_fail(err, errlen, VIEW_EXIT_MODEL, "the node tree is deeper than 256 levels (recursive?)");
        else if (!s->object_count)
            rc = view_fail(err, errlen, VIEW_EXIT_MODEL, "no node of the model uses a triangle mesh");
    }
    if (rc == VIEW_OK) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) slash[1] = '\0';
        else dir[0] = '\0';
        rc = load_materials(sc, dir, s, err, errlen);
        for (uint32_t m = 0; rc == VIEW_OK && m < s->mesh_count; ++m)
            if (s->meshes[m].material >= s->material_count) s->meshes[m].material = 0;
    }
    if (rc == VIEW_OK && !grow_bounds(s))
        rc = view_fail(err, errlen, VIEW_EXIT_MODEL, "a world position (after the node transforms) is non-finite "
                       "or beyond +-1e36: no camera can frame it in 32-bit floats");
    free(kept);
    aiReleaseImport(sc);
    if (rc != VIEW_OK) view_scene_free(s);
    return rc;
}

void view_scene_free(view_scene *s)
{
    for (uint32_t i = 0; i < s->texture_count; ++i) view_image_free(&s->textures[i]);
    free(s->textures);
    free(s->vertices);
    free(s->indices);
    free(s->meshes);
    free(s->objects);
    free(s->materials);
    memset(s, 0, sizeof *s);
}
