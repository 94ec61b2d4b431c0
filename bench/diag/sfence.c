/*
 * Diagnostic, not part of the build: what the sfence after each small non-temporal copy into
 * the staging ring costs (src/transfer/transfer_private.h, sedx__stream_copy). Sequential 4 KiB
 * pieces over 64 MiB, with and without an sfence after each, into a sedx CPU buffer's mapping
 * (HOST_VISIBLE | HOST_COHERENT: write-combined on NVIDIA, like the ring) and into ordinary host
 * memory, glibc memcpy beside them. Results: bench/results/sfence-h100-2026-12-06.txt.
 *   gcc -O2 -Iinclude bench/diag/sfence.c build/libsedx.a -lvulkan -lcjson -lpthread -lm -o sfence
 */
#include <sedx/sedx.h>
#include <emmintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static inline void sc(uint8_t *dst,const uint8_t*src,size_t n,int fence){
 for(;n>=64;n-=64,dst+=64,src+=64){__m128i a=_mm_loadu_si128((const __m128i*)src),b=_mm_loadu_si128((const __m128i*)(src+16)),c=_mm_loadu_si128((const __m128i*)(src+32)),d=_mm_loadu_si128((const __m128i*)(src+48));
 _mm_stream_si128((__m128i*)dst,a);_mm_stream_si128((__m128i*)(dst+16),b);_mm_stream_si128((__m128i*)(dst+32),c);_mm_stream_si128((__m128i*)(dst+48),d);}
 if(fence)_mm_sfence();}
static void run(const char*what,uint8_t*d,uint8_t*s,size_t N){
 for(int r=0;r<8;r++){int f=r&1; double t0=now(); for(size_t o=0;o<N;o+=4096) sc(d+o,s+o,4096,f); _mm_sfence(); double t=now()-t0;
 if(r>=2)printf("%s: NT copy 4 KiB, sfence each=%d: %.0f ns per piece, %.2f GB/s\n",what,f,t/(N/4096)*1e9,N/t/1e9);}
 for(int r=0;r<4;r++){double t0=now(); for(size_t o=0;o<N;o+=4096) memcpy(d+o,s+o,4096); double t=now()-t0;
 if(r>=2)printf("%s: memcpy 4 KiB: %.0f ns per piece, %.2f GB/s\n",what,t/(N/4096)*1e9,N/t/1e9);}
}
int main(void){size_t N=64u<<20;
 sedx_context_info ci={0}; sedx_context*ctx; if(sedx_context_create(&ci,&ctx)){puts("ctx");return 1;}
 sedx_buffer b; if(sedx_buffer_create(ctx,N,SEDX_BUFFER_USAGE_TRANSFER_SRC,SEDX_MEMORY_CPU,"wc",&b)){puts("buf");return 1;}
 void*m; sedx_buffer_map(&b,&m);
 uint8_t*s=aligned_alloc(4096,N),*h=aligned_alloc(4096,N); for(size_t i=0;i<N;i++)s[i]=(uint8_t)(i*13+1); memset(h,1,N);
 run("sedx CPU buffer",m,s,N); run("host memory",h,s,N);
 sedx_buffer_unmap(&b); sedx_buffer_release(&b); sedx_context_destroy(ctx); return 0;}
