/* The ray-tracing layer's life, driven by the composite context (src/context). */
#ifndef SEDX_RAYTRACING_RAYTRACING_H
#define SEDX_RAYTRACING_RAYTRACING_H

#include <sedx/raytracing.h>

sedx_result sedx__raytracing_create(sedx_context *ctx);
/* Destroys the structures the application leaked (logged), after the GPU is past them. */
void sedx__raytracing_destroy(sedx_context *ctx);

#endif
