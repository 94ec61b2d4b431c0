/* Column-major 4x4 matrices for the camera and the node tree (Vulkan clip space: depth 0..1). */
#include "view_math.h"

#include <math.h>
#include <string.h>

void vm_mul(const float a[16], const float b[16], float out[16])
{
    float r[16];
    for (int c = 0; c < 4; ++c)
        for (int row = 0; row < 4; ++row) {
            float x = 0;
            for (int k = 0; k < 4; ++k) x += a[k * 4 + row] * b[c * 4 + k];
            r[c * 4 + row] = x;
        }
    memcpy(out, r, sizeof r);
}

void vm_identity(float out[16])
{
    memset(out, 0, 16 * sizeof(float));
    out[0] = out[5] = out[10] = out[15] = 1.0f;
}

void vm_perspective(float fovy, float aspect, float znear, float zfar, float out[16])
{
    float f = 1.0f / tanf(fovy * 0.5f);
    memset(out, 0, 16 * sizeof(float));
    out[0] = f / aspect;
    out[5] = f;
    out[10] = zfar / (znear - zfar);
    out[11] = -1.0f;
    out[14] = znear * out[10]; /* = znear * zfar / (znear - zfar), without the product overflowing */
}

static void normalize3(float v[3])
{
    /* in double: a large model's camera offsets (over ~1e19) overflow a float when squared */
    double l = sqrt((double)v[0] * v[0] + (double)v[1] * v[1] + (double)v[2] * v[2]);
    if (l > 0) v[0] = (float)(v[0] / l), v[1] = (float)(v[1] / l), v[2] = (float)(v[2] / l);
}

void vm_look_at(const float eye[3], const float at[3], const float up[3], float out[16])
{
    float f[3] = {at[0] - eye[0], at[1] - eye[1], at[2] - eye[2]};
    normalize3(f);
    float s[3] = {f[1] * up[2] - f[2] * up[1], f[2] * up[0] - f[0] * up[2], f[0] * up[1] - f[1] * up[0]};
    normalize3(s);
    float u[3] = {s[1] * f[2] - s[2] * f[1], s[2] * f[0] - s[0] * f[2], s[0] * f[1] - s[1] * f[0]};
    vm_identity(out);
    out[0] = s[0], out[4] = s[1], out[8] = s[2];
    out[1] = u[0], out[5] = u[1], out[9] = u[2];
    out[2] = -f[0], out[6] = -f[1], out[10] = -f[2];
    out[12] = -(s[0] * eye[0] + s[1] * eye[1] + s[2] * eye[2]);
    out[13] = -(u[0] * eye[0] + u[1] * eye[1] + u[2] * eye[2]);
    out[14] = f[0] * eye[0] + f[1] * eye[1] + f[2] * eye[2];
}

/* Cofactor expansion by 2x2 minors of the first two and last two rows. */
bool vm_inverse(const float m[16], float out[16])
{
    double a[16];
    for (int i = 0; i < 16; ++i) a[i] = m[i];
    /* s: 2x2 minors of columns 0-1, c: of columns 2-3 (the same formula inverts either storage
     * order: the inverse of the transpose is the transpose of the inverse) */
    double s0 = a[0] * a[5] - a[4] * a[1], s1 = a[0] * a[9] - a[8] * a[1], s2 = a[0] * a[13] - a[12] * a[1];
    double s3 = a[4] * a[9] - a[8] * a[5], s4 = a[4] * a[13] - a[12] * a[5], s5 = a[8] * a[13] - a[12] * a[9];
    double c5 = a[10] * a[15] - a[14] * a[11], c4 = a[6] * a[15] - a[14] * a[7], c3 = a[6] * a[11] - a[10] * a[7];
    double c2 = a[2] * a[15] - a[14] * a[3], c1 = a[2] * a[11] - a[10] * a[3], c0 = a[2] * a[7] - a[6] * a[3];
    double det = s0 * c5 - s1 * c4 + s2 * c3 + s3 * c2 - s4 * c1 + s5 * c0;
    if (!(fabs(det) > 0.0) || !isfinite(det)) return false;
    double d = 1.0 / det;
    double r[16] = {
        (a[5] * c5 - a[9] * c4 + a[13] * c3) * d,   (-a[1] * c5 + a[9] * c2 - a[13] * c1) * d,
        (a[1] * c4 - a[5] * c2 + a[13] * c0) * d,   (-a[1] * c3 + a[5] * c1 - a[9] * c0) * d,
        (-a[4] * c5 + a[8] * c4 - a[12] * c3) * d,  (a[0] * c5 - a[8] * c2 + a[12] * c1) * d,
        (-a[0] * c4 + a[4] * c2 - a[12] * c0) * d,  (a[0] * c3 - a[4] * c1 + a[8] * c0) * d,
        (a[7] * s5 - a[11] * s4 + a[15] * s3) * d,  (-a[3] * s5 + a[11] * s2 - a[15] * s1) * d,
        (a[3] * s4 - a[7] * s2 + a[15] * s0) * d,   (-a[3] * s3 + a[7] * s1 - a[11] * s0) * d,
        (-a[6] * s5 + a[10] * s4 - a[14] * s3) * d, (a[2] * s5 - a[10] * s2 + a[14] * s1) * d,
        (-a[2] * s4 + a[6] * s2 - a[14] * s0) * d,  (a[2] * s3 - a[6] * s1 + a[10] * s0) * d};
    for (int i = 0; i < 16; ++i) out[i] = (float)r[i];
    return true;
}
