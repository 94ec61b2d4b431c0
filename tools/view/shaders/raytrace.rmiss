#version 460
// sedx-view --raytrace: a ray that hits nothing: the raster pass's clear colour, object ID 0.
#extension GL_EXT_ray_tracing : require

struct Payload { vec3 color; uint id; };
layout(location = 0) rayPayloadInEXT Payload payload;

void main()
{
    payload.color = vec3(0.06, 0.07, 0.09);
    payload.id = 0u;
}
