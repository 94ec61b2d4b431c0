/* sedx__map: non-zero 64-bit keys to pointers (see core_internal.h). */
#include "core/core.h"

static uint32_t home(const sedx__map *m, uint64_t key)
{
    key ^= key >> 33; /* Vulkan handles are pointers or small counters: mix the bits */
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (uint32_t)key & (m->cap - 1);
}

static sedx__map_slot *find_slot(const sedx__map *m, uint64_t key)
{
    for (uint32_t i = home(m, key);; i = (i + 1) & (m->cap - 1))
        if (m->slots[i].key == key || m->slots[i].key == 0) return &m->slots[i];
}

static sedx_result grow(sedx__map *m)
{
    uint32_t cap = m->cap ? m->cap * 2 : 64;
    if (cap < m->cap) return SEDX_ERROR_OUT_OF_HOST_MEMORY;
    sedx__map_slot *slots = sedx__calloc(cap, sizeof *slots);
    if (!slots) return SEDX_ERROR_OUT_OF_HOST_MEMORY;
    sedx__map old = *m;
    m->slots = slots;
    m->cap = cap;
    for (uint32_t i = 0; i < old.cap; ++i)
        if (old.slots[i].key) *find_slot(m, old.slots[i].key) = old.slots[i];
    sedx__free(old.slots);
    return SEDX_SUCCESS;
}

sedx_result sedx__map_put(sedx__map *m, uint64_t key, void *value)
{
    if (!key) return SEDX_ERROR_INVALID_ARGUMENT;
    if ((m->count + 1) * 2 > m->cap) {
        sedx_result r = grow(m);
        if (r != SEDX_SUCCESS) return r;
    }
    sedx__map_slot *s = find_slot(m, key);
    if (!s->key) m->count++;
    *s = (sedx__map_slot){key, value};
    return SEDX_SUCCESS;
}

void *sedx__map_get(const sedx__map *m, uint64_t key)
{
    if (!m->cap || !key) return NULL;
    return find_slot(m, key)->value;
}

void sedx__map_remove(sedx__map *m, uint64_t key)
{
    if (!m->cap || !key) return;
    sedx__map_slot *hole = find_slot(m, key);
    if (!hole->key) return;
    m->count--;
    /* backward shift: move later entries of the cluster into the hole when their home allows */
    uint32_t mask = m->cap - 1, i = (uint32_t)(hole - m->slots);
    for (uint32_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        uint32_t h = home(m, m->slots[j].key);
        bool movable = (j > i) ? (h <= i || h > j) : (h <= i && h > j);
        if (!movable) continue;
        m->slots[i] = m->slots[j];
        i = j;
    }
    m->slots[i] = (sedx__map_slot){0, NULL};
}

void sedx__map_free(sedx__map *m)
{
    sedx__free(m->slots);
    *m = (sedx__map){0};
}
