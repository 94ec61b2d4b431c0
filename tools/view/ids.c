/*
 * sedx-view --raytrace: two object-ID images (0 = nothing, else object + 1) compared pixel by
 * pixel where either of them has an object: a pixel that is background in both says nothing
 * about the objects, so it is left out of the ratio.
 */
#include "view.h"

view_id_match view_ids_compare(const uint32_t *a, const uint32_t *b, size_t pixels)
{
    view_id_match m = {0, 0, 0.0};
    for (size_t i = 0; i < pixels; ++i) {
        if (!a[i] && !b[i]) continue;
        m.covered++;
        m.matching += a[i] == b[i];
    }
    m.ratio = m.covered ? (double)m.matching / (double)m.covered : 0.0;
    return m;
}
