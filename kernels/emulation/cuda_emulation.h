// CUDA emulation for compiling kernels/*.cu as C++ (g++ -std=c++17) and running them on the CPU in CI:
// each CUDA thread is a fiber, the threads of a block take turns on one OS thread and switch at barriers
// (runtime.cpp). Provides the CUDA keywords, built-in variables, barriers, warp shuffles, __half and the math the
// kernels use. See README.md in this folder for what is and is not emulated.
//
// __shared__ is `thread_local`: all fibers of a block run on one OS thread, so they see one copy, and blocks
// running at the same time on other OS threads see theirs. `extern __shared__ T name[]` (dynamic shared memory)
// is defined per kernel family by tools/build-cuda-emulation.sh (48 KiB, poisoned with 0xFF bytes before a block).
#pragma once
#ifndef SAHARA_CUDA_EMULATION_H
#define SAHARA_CUDA_EMULATION_H

#ifdef SAHARA_EMU_SCAN
// The build script's scanning pass (g++ -E) only needs the kernels' own text, with __global__ and __shared__ left as
// tokens to find: no standard headers (fast), only the keyword macros a declaration may hold.
#define __device__
#define __host__
#define __forceinline__
#define __noinline__
#define __align__(n) alignas(n)
#define __launch_bounds__(...)
#define __grid_constant__
#else
// Standard headers a kernel might include, pulled in here at global scope: a kernel family is compiled inside a
// namespace of its own, where a second #include of these is then a no-op.
#include <cassert>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SAHARA_EMU_HIDDEN __attribute__((visibility("hidden")))
/** Largest dynamic shared memory a launch may ask for (the default CUDA limit without opt-in). */
#define SAHARA_EMU_MAX_DYNAMIC_SHARED 49152

// ---- keywords ------------------------------------------------------------------------------------------------
#define __global__
#define __shared__ thread_local
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
#define __grid_constant__
#define warpSize 32

// ---- built-in variables ------------------------------------------------------------------------------------------
struct uint3 { unsigned int x, y, z; };
struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return uint3{x, y, z}; }
};

/** What the running block sees; one per OS worker thread (a block runs on one). */
struct sahara_emu_block_info {
    uint3 blockIdx;
    dim3 blockDim, gridDim;
};
extern SAHARA_EMU_HIDDEN thread_local sahara_emu_block_info sahara_emu_block;
/** threadIdx of the fiber now running on this OS thread (switched with the fiber). */
extern SAHARA_EMU_HIDDEN thread_local const uint3* sahara_emu_tid;

#define threadIdx (*sahara_emu_tid)
#define blockIdx (sahara_emu_block.blockIdx)
#define blockDim (sahara_emu_block.blockDim)
#define gridDim (sahara_emu_block.gridDim)

// vector types (alignment as in CUDA)
struct __attribute__((aligned(8))) float2 { float x, y; };
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
struct __attribute__((aligned(8))) int2 { int x, y; };
struct __attribute__((aligned(16))) int4 { int x, y, z, w; };
struct __attribute__((aligned(16))) double2 { double x, y; };
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline int2 make_int2(int x, int y) { return int2{x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return uint3{x, y, z}; }
inline dim3 make_dim3(unsigned x, unsigned y, unsigned z) { return dim3(x, y, z); }

// ---- barriers and warp operations (runtime.cpp) -----------------------------------------------------------------
extern "C" {
SAHARA_EMU_HIDDEN void sahara_emu_syncthreads(void);
SAHARA_EMU_HIDDEN int sahara_emu_syncthreads_op(int op, int predicate);   // 0 count, 1 and, 2 or
SAHARA_EMU_HIDDEN void sahara_emu_syncwarp(unsigned mask);
/** Lane-to-lane exchange: every lane in mask publishes v, then reads lane src's value (src < 0: its own). */
SAHARA_EMU_HIDDEN unsigned long long sahara_emu_shfl(unsigned mask, unsigned long long v, int src);
SAHARA_EMU_HIDDEN unsigned sahara_emu_ballot(unsigned mask, int predicate);
SAHARA_EMU_HIDDEN unsigned sahara_emu_lane(void);
[[noreturn]] SAHARA_EMU_HIDDEN void sahara_emu_fail(int code, const char* message);
}

inline void __syncthreads() { sahara_emu_syncthreads(); }
inline int __syncthreads_count(int p) { return sahara_emu_syncthreads_op(0, p); }
inline int __syncthreads_and(int p) { return sahara_emu_syncthreads_op(1, p); }
inline int __syncthreads_or(int p) { return sahara_emu_syncthreads_op(2, p); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { sahara_emu_syncwarp(mask); }
inline unsigned __ballot_sync(unsigned mask, int p) { return sahara_emu_ballot(mask, p); }
inline int __any_sync(unsigned mask, int p) { return sahara_emu_ballot(mask, p) != 0; }
inline int __all_sync(unsigned mask, int p) { return sahara_emu_ballot(mask, !p) == 0; }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
inline void __trap() { sahara_emu_fail(719, "__trap() called"); }

namespace sahara_emu_detail {
template <typename T> inline unsigned long long to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a type larger than 8 bytes");
    unsigned long long b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}
template <typename T> inline T from_bits(unsigned long long b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
}
inline int check_width(int width) {
    if (width <= 0 || width > 32 || (width & (width - 1))) sahara_emu_fail(719, "warp shuffle width not a power of 2 in [1, 32]");
    return width;
}
} // namespace sahara_emu_detail

// CUDA semantics: a source lane in a later width-segment (xor), beyond the segment (down) or before it (up) gives
// the caller's own value. A source lane that does not exist or is not in mask reads poison (all bits set).
template <typename T> inline T __shfl_xor_sync(unsigned mask, T v, int laneMask, int width = 32) {
    int lane = (int) sahara_emu_lane(), w = sahara_emu_detail::check_width(width), src = lane ^ laneMask;
    if (src >= (lane / w + 1) * w) src = -1;
    return sahara_emu_detail::from_bits<T>(sahara_emu_shfl(mask, sahara_emu_detail::to_bits(v), src));
}
template <typename T> inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int lane = (int) sahara_emu_lane(), w = sahara_emu_detail::check_width(width), src = lane + (int) delta;
    if (src >= (lane / w + 1) * w) src = -1;
    return sahara_emu_detail::from_bits<T>(sahara_emu_shfl(mask, sahara_emu_detail::to_bits(v), src));
}
template <typename T> inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int lane = (int) sahara_emu_lane(), w = sahara_emu_detail::check_width(width), src = lane - (int) delta;
    if (src < lane / w * w) src = -1;
    return sahara_emu_detail::from_bits<T>(sahara_emu_shfl(mask, sahara_emu_detail::to_bits(v), src));
}
template <typename T> inline T __shfl_sync(unsigned mask, T v, int srcLane, int width = 32) {
    int lane = (int) sahara_emu_lane(), w = sahara_emu_detail::check_width(width);
    int src = lane / w * w + (srcLane & (w - 1));
    return sahara_emu_detail::from_bits<T>(sahara_emu_shfl(mask, sahara_emu_detail::to_bits(v), src));
}

// ---- assert: a failed device assert fails the launch (CUDA_ERROR_ASSERT, 710) instead of aborting the process ----
extern "C" [[noreturn]] SAHARA_EMU_HIDDEN void sahara_emu_assert_fail(const char* expr, const char* file, int line);
#undef assert
#define assert(e) ((e) ? (void) 0 : sahara_emu_assert_fail(#e, __FILE__, __LINE__))

// ---- bit casts and integer helpers -------------------------------------------------------------------------------
inline float __uint_as_float(unsigned int u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned int __float_as_uint(float f) { unsigned int u; std::memcpy(&u, &f, 4); return u; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline double __longlong_as_double(long long i) { double d; std::memcpy(&d, &i, 8); return d; }
inline long long __double_as_longlong(double d) { long long i; std::memcpy(&i, &d, 8); return i; }
inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned) x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
template <typename T> inline T __ldg(const T* p) { return *p; }

// CUDA's integer / float min and max (device overloads in the global namespace)
inline int min(int a, int b) { return a < b ? a : b; }
inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline long min(long a, long b) { return a < b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
// mixed argument types: the usual arithmetic conversions, as CUDA's mixed overloads do
template <typename A, typename B, typename = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> min(A a, B b) { return min((std::common_type_t<A, B>) a, (std::common_type_t<A, B>) b); }
template <typename A, typename B, typename = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> max(A a, B b) { return max((std::common_type_t<A, B>) a, (std::common_type_t<A, B>) b); }

// ---- float math beyond <cmath> -------------------------------------------------------------------------------------
using std::isfinite;
using std::isinf;
using std::isnan;
using std::signbit;
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __saturatef(float x) { return x != x ? 0.0f : x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }

// ---- atomics (blocks run concurrently on several OS threads) -------------------------------------------------------
template <typename T> struct sahara_emu_same_t { typedef T type; };
template <typename T> using sahara_emu_same = typename sahara_emu_same_t<T>::type;   // not deduced: atomicAdd(float*, 1.0) converts
template <typename T> inline T atomicAdd(T* p, sahara_emu_same<T> v) {
    if constexpr (std::is_integral<T>::value) {
        return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
    } else {   // float / double: a compare-and-swap loop on the bits
        T old, next;
        __atomic_load(p, &old, __ATOMIC_RELAXED);
        do { next = old + v; } while (!__atomic_compare_exchange(p, &old, &next, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
        return old;
    }
}
template <typename T> inline T atomicSub(T* p, sahara_emu_same<T> v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
template <typename T> inline T atomicExch(T* p, sahara_emu_same<T> v) {
    T old;
    __atomic_exchange(p, &v, &old, __ATOMIC_RELAXED);
    return old;
}
template <typename T> inline T atomicCAS(T* p, sahara_emu_same<T> cmp, sahara_emu_same<T> v) {
    __atomic_compare_exchange(p, &cmp, &v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return cmp;
}
template <typename T> inline T atomicMax(T* p, sahara_emu_same<T> v) {
    T old;
    __atomic_load(p, &old, __ATOMIC_RELAXED);
    while (old < v && !__atomic_compare_exchange(p, &old, &v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
    return old;
}
template <typename T> inline T atomicMin(T* p, sahara_emu_same<T> v) {
    T old;
    __atomic_load(p, &old, __ATOMIC_RELAXED);
    while (old > v && !__atomic_compare_exchange(p, &old, &v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
    return old;
}
template <typename T> inline T atomicOr(T* p, sahara_emu_same<T> v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }
template <typename T> inline T atomicAnd(T* p, sahara_emu_same<T> v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }

// ---- __half: IEEE binary16, conversions round to nearest even ------------------------------------------------------
struct __half {
    unsigned short __x;
};
struct __half2 {
    __half x, y;
};
static_assert(sizeof(__half) == 2 && alignof(__half) == 2, "__half must be 2 bytes");

/** float32 -> binary16 bits, round to nearest even; subnormals, ±Inf exact; NaN -> the canonical 0x7fff (as cvt.rn.f16.f32). */
inline unsigned short sahara_emu_float_to_half_bits(float f) {
    unsigned int x = __float_as_uint(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return 0x7fffu;
    if (ax >= 0x477ff000u) return (unsigned short) (sign | 0x7c00u);   // >= 65520 (incl. Inf): overflow to Inf
    if (ax >= 0x38800000u) {                                          // >= 2^-14: normal
        unsigned int h = ((((ax >> 23) - 112u) << 10) | ((ax >> 13) & 0x3ffu)), rem = ax & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
        return (unsigned short) (sign | h);
    }
    if (ax <= 0x33000000u) return (unsigned short) sign;              // <= 2^-25: rounds to ±0 (the tie goes to even 0)
    unsigned int mant = (ax & 0x7fffffu) | 0x800000u, shift = 126u - (ax >> 23);
    unsigned int h = mant >> shift, rem = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (h & 1u))) h++;
    return (unsigned short) (sign | h);
}
inline float sahara_emu_half_bits_to_float(unsigned short h) {
    unsigned int sign = (unsigned int) (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1fu) return __uint_as_float(sign | 0x7f800000u | (m << 13));
    if (e != 0) return __uint_as_float(sign | ((e + 112u) << 23) | (m << 13));
    if (m == 0) return __uint_as_float(sign);
    float v = (float) m * 5.9604644775390625e-8f;                      // m * 2^-24, exact
    return sign ? -v : v;
}
inline float __half2float(__half h) { return sahara_emu_half_bits_to_float(h.__x); }
inline __half __float2half_rn(float f) { return __half{sahara_emu_float_to_half_bits(f)}; }
inline __half __float2half(float f) { return __float2half_rn(f); }
inline __half __double2half(double d) { return __float2half_rn((float) d); }
inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline __half __ushort_as_half(unsigned short u) { return __half{u}; }
inline short __half_as_short(__half h) { return (short) h.__x; }
inline __half __short_as_half(short s) { return __half{(unsigned short) s}; }
inline __half __hadd(__half a, __half b) { return __float2half_rn(__half2float(a) + __half2float(b)); }
inline __half __hmul(__half a, __half b) { return __float2half_rn(__half2float(a) * __half2float(b)); }

// ---- kernel registry (used by the per-family registry files the build script generates) -----------------------------
typedef void (*sahara_emu_fn)(void);
typedef void (*sahara_emu_trampoline)(sahara_emu_fn fn, void** params);
typedef void* (*sahara_emu_dyn_shared)(void);   // this OS thread's copy of one `extern __shared__` array
extern "C" SAHARA_EMU_HIDDEN void sahara_emu_register(const char* name, const char* family, sahara_emu_fn fn,
                                                      sahara_emu_trampoline trampoline, int arity,
                                                      const sahara_emu_dyn_shared* dyn, int ndyn);
namespace sahara_emu_detail {
template <typename... A, std::size_t... I>
inline void call_unpacked(sahara_emu_fn fn, void** p, std::index_sequence<I...>) {
    reinterpret_cast<void (*)(A...)>(fn)(*static_cast<std::decay_t<A>*>(p[I])...);
}
template <typename... A> void trampoline(sahara_emu_fn fn, void** p) { call_unpacked<A...>(fn, p, std::index_sequence_for<A...>{}); }
} // namespace sahara_emu_detail
/** Registers kernel `f` under `name`: its parameter types, deduced here, unpack cuLaunchKernel-style `void** params`. */
template <typename... A>
inline void sahara_emu_register_kernel(const char* name, const char* family, void (*f)(A...), const sahara_emu_dyn_shared* dyn, int ndyn) {
    sahara_emu_register(name, family, reinterpret_cast<sahara_emu_fn>(f), &sahara_emu_detail::trampoline<A...>, (int) sizeof...(A), dyn, ndyn);
}

#endif  // SAHARA_EMU_SCAN
#endif
