#version 460
// The hit: instance custom index * 1000 + primitive index + this hit group's record tag
// (shader record data laid out by sedx_sbt_create).
#extension GL_EXT_ray_tracing : require
layout(location = 0) rayPayloadInEXT uint payload;
layout(shaderRecordEXT, std430) buffer Record { uint tag; };
void main() { payload = uint(gl_InstanceCustomIndexEXT) * 1000u + uint(gl_PrimitiveID) + tag; }
