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
    out[14] = znear * zfar / (znear - zfar);
}

static void normalize3(float v[3])
{
    float l = sqrtf(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (l > 0) v[0] /= l, v[1] /= l, v[2] /= l;
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
