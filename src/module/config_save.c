/* Printing and saving (only a regular file is replaced, through a temporary file and rename). */
#include "module/config_private.h"

#include <locale.h>
#include <pthread.h>

/* ------------------------------------------------------------------------------------------
 * Printing
 * ---------------------------------------------------------------------------------------- */
/* The "C" numeric locale, for JSON's '.' whatever LC_NUMERIC the application set (under
 * de_DE, "%g" writes 1,5 and a saved file would not load); NULL if it cannot be had. */
static locale_t g_c_numeric;
static pthread_once_t g_c_numeric_once = PTHREAD_ONCE_INIT;
static void c_numeric_init(void)
{
    g_c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!g_c_numeric)
        SEDX_LOG_WARN_TAG(TAG, "newlocale(\"C\") failed: doubles are saved in the application's LC_NUMERIC, "
                          "which a decimal comma would make unreadable");
}

/* Shortest text that reads back as the same double, with a '.' or an exponent so that it reads
 * back as a double, not as an integer. Printed and checked in the "C" locale (this thread only). */
static void format_double(double d, char *buf, size_t cap)
{
    pthread_once(&g_c_numeric_once, c_numeric_init);
    locale_t old = g_c_numeric ? uselocale(g_c_numeric) : (locale_t)0;
    snprintf(buf, cap, "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, cap, "%.17g", d);
    if (old) uselocale(old);
    size_t n = strlen(buf);
    if (!strpbrk(buf, ".eE") && n + 3 <= cap) memcpy(buf + n, ".0", 3);
}

static cJSON *json_item(const entry *e)
{
    char num[64];
    switch (e->kind) {
    case KIND_NULL: return cJSON_CreateNull();
    case KIND_BOOL: return cJSON_CreateBool(e->v.b);
    case KIND_U64: snprintf(num, sizeof num, "%" PRIu64, e->v.u); return cJSON_CreateRaw(num);
    case KIND_I64: snprintf(num, sizeof num, "%" PRId64, e->v.i); return cJSON_CreateRaw(num);
    case KIND_F64: format_double(e->v.f, num, sizeof num); return cJSON_CreateRaw(num);
    case KIND_STRING: return cJSON_CreateString(e->v.s);
    case KIND_BIG:
    case KIND_RAW: return cJSON_CreateRaw(e->v.s);
    }
    return NULL;
}

/* The JSON text (cJSON_free it), or NULL (logged). */
static char *print_json(const sedx_config *cfg)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    for (uint32_t i = 0; i < cfg->count && ok; ++i) {
        cJSON *item = json_item(&cfg->entries[i]);
        ok = item && cJSON_AddItemToObject(root, cfg->entries[i].key, item);
        if (!ok) cJSON_Delete(item);
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) SEDX_LOG_ERROR_TAG(TAG, "%s: out of host memory while printing JSON", sedx__cfg_source_name(cfg));
    return text;
}

size_t sedx_config_format(const sedx_config *cfg, char *out, size_t cap)
{
    if (out && cap) out[0] = '\0';
    if (!cfg) return (size_t)SEDX__ERR(0, TAG, "sedx_config_format: cfg is NULL");
    char *text = print_json(cfg);
    if (!text) return 0;
    size_t n = strlen(text);
    if (out && cap) {
        size_t c = SEDX__MIN(n, cap - 1);
        memcpy(out, text, c);
        out[c] = '\0';
    }
    cJSON_free(text);
    return n;
}

/* ------------------------------------------------------------------------------------------
 * Saving: only a regular file is replaced
 * ---------------------------------------------------------------------------------------- */
typedef struct save_target {
    char *path;  /* the file written: the path, or the file its symbolic link points to */
    bool exists; /* replaced, keeping mode's permission bits */
    mode_t mode;
} save_target;

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

/* Fills t for file (the path itself, or the file a link points to) if it is a regular file;
 * refuses anything else. */
static sedx_result existing_target(const char *path, const char *file, const struct stat *st, save_target *t)
{
    if (!S_ISREG(st->st_mode))
        return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s%s%s is %s: only a regular file is replaced, nothing saved", path,
                         file == path ? "" : " -> ", file == path ? "" : file, file_kind(st->st_mode));
    t->path = sedx__strdup(file);
    if (!t->path) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", path);
    t->exists = true;
    t->mode = st->st_mode;
    return SEDX_SUCCESS;
}

/* A symbolic link is written through: the file it points to is replaced, the link stays. */
static sedx_result link_target(const char *path, save_target *t)
{
    char ebuf[128];
    char *real = realpath(path, NULL); /* libc's malloc */
    if (!real)
        return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: a symbolic link that cannot be followed (%s): nothing saved", path,
                         sedx__cfg_errno_text(errno, ebuf, sizeof ebuf));
    struct stat st;
    sedx_result r = stat(real, &st) == 0 ? existing_target(path, real, &st, t)
                                         : SEDX__ERR(SEDX_ERROR_IO, TAG, "%s -> %s: %s", path, real,
                                                     sedx__cfg_errno_text(errno, ebuf, sizeof ebuf));
    free(real);
    return r;
}

/* Where a save writes: a missing file is created, a regular file (or one a symbolic link points
 * to) replaced; directories, devices, FIFOs and sockets are refused. */
static sedx_result find_target(const char *path, save_target *t)
{
    char ebuf[128];
    struct stat st;
    *t = (save_target){0};
    if (lstat(path, &st) == 0) return S_ISLNK(st.st_mode) ? link_target(path, t) : existing_target(path, path, &st, t);
    if (errno != ENOENT)
        return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: cannot save: %s", path, sedx__cfg_errno_text(errno, ebuf, sizeof ebuf));
    t->path = sedx__strdup(path);
    return t->path ? SEDX_SUCCESS : SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", path);
}

/* Opens tmp for writing: created, or a regular file left by a failed save truncated. A link or
 * a FIFO there is never followed or waited for; anything but a regular file is refused. */
static int open_temp(const char *tmp, sedx_result *r)
{
    char ebuf[128];
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0) {
        *r = SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: cannot write: %s", tmp, sedx__cfg_errno_text(errno, ebuf, sizeof ebuf));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *r = SEDX__ERR(SEDX_ERROR_IO, TAG, "%s exists and is not a regular file: nothing saved", tmp);
        return -1;
    }
    return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Writes text and a newline to disk, with the replaced file's permission bits: 0 or an errno. */
static int write_temp(int fd, const char *tmp, const char *text, const save_target *t)
{
    if (!write_all(fd, text, strlen(text)) || !write_all(fd, "\n", 1)) return errno;
    if (t->exists && fchmod(fd, t->mode & 07777) != 0)
        SEDX_LOG_WARN_TAG(TAG, "%s: cannot keep the permissions of %s (errno %d)", tmp, t->path, errno);
    return fsync(fd) == 0 ? 0 : errno;
}

/* t->path.tmp, written in full, then renamed over t->path: a failed save changes nothing. */
static sedx_result write_replace(const save_target *t, const char *text)
{
    char ebuf[128];
    size_t plen = strlen(t->path);
    char *tmp = sedx__malloc(plen + 5);
    if (!tmp) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", t->path);
    memcpy(tmp, t->path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    sedx_result r = SEDX_SUCCESS;
    int fd = open_temp(tmp, &r);
    if (fd >= 0) {
        int e = write_temp(fd, tmp, text, t);
        if (close(fd) != 0 && !e) e = errno;
        if (!e && rename(tmp, t->path) != 0) e = errno;
        if (e) {
            unlink(tmp);
            r = SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: save failed: %s", t->path, sedx__cfg_errno_text(e, ebuf, sizeof ebuf));
        }
    }
    sedx__free(tmp);
    return r;
}

sedx_result sedx_config_save(const sedx_config *cfg, const char *path)
{
    if (!cfg || !path) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_save: cfg or path is NULL");
    if (!path[0]) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_save: path is empty");
    save_target t;
    sedx_result r = find_target(path, &t);
    if (r != SEDX_SUCCESS) return r;
    char *text = print_json(cfg);
    r = text ? write_replace(&t, text) : SEDX_ERROR_OUT_OF_HOST_MEMORY;
    if (r == SEDX_SUCCESS) SEDX_LOG_DEBUG_TAG(TAG, "saved %s (%u keys)", t.path, cfg->count);
    cJSON_free(text);
    sedx__free(t.path);
    return r;
}

