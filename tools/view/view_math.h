/* sedx-view: column-major 4x4 matrices (math.c). */
#ifndef SEDX_VIEW_MATH_H
#define SEDX_VIEW_MATH_H
#include <stdbool.h>
void vm_mul(const float a[16], const float b[16], float out[16]);
void vm_identity(float out[16]);
void vm_perspective(float fovy, float aspect, float znear, float zfar, float out[16]);
void vm_look_at(const float eye[3], const float at[3], const float up[3], float out[16]);
/* The inverse of m (in double precision); false when m is singular (out untouched). */
bool vm_inverse(const float m[16], float out[16]);
#endif
