// Self-check of the CUDA emulation, built and run by tools/build-cuda-emulation.sh (linked from the same objects as
// the library, plus a dlopen of the library itself for its exported ABI).
//   selftest          the emulator's mechanics (own small kernels), invalid launches, __half, cuBLAS / cuSOLVER
//   selftest --real   also a few real kernels (rmsnorm_f32, attention, top_k, kl_divergence) against naive C++
//                     references: run by hand; not part of the build, since other engineers change those kernels
//   selftest --bench  the fiber switch rate
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <random>
#include <string>
#include <vector>

#include "cuda_emulation.h"

extern "C" {
int sahara_emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                      unsigned sharedBytes, void** params, char* err, int errCapacity);
int sahara_emu_kernels(char* out, int capacity);
void* sahara_emu_malloc(size_t bytes);
void sahara_emu_free(void* p);
unsigned long long sahara_emu_switch_count(void);
int cublasCreate_v2(void** handle);
int cublasDestroy_v2(void* handle);
int cublasGemmEx(void* handle, int transa, int transb, int m, int n, int k, const void* alpha, const void* A, int Atype, int lda,
                 const void* B, int Btype, int ldb, const void* beta, void* C, int Ctype, int ldc, int computeType, int algo);
int cusolverDnCreate(void** h);
int cusolverDnDsyevd_bufferSize(void* h, int jobz, int uplo, int n, const double* A, int lda, const double* W, int* lwork);
int cusolverDnDsyevd(void* h, int jobz, int uplo, int n, double* A, int lda, double* W, double* work, int lwork, int* devInfo);
}

static int failures = 0;
#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (!(cond)) {                                                   \
            failures++;                                                  \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);      \
            printf(__VA_ARGS__);                                         \
            printf("\n");                                                \
        }                                                                \
    } while (0)

// ---- the emulator's own test kernels ---------------------------------------------------------------------------------
extern "C" __global__ void t_rotate(const int* in, int* out) {   // barrier: read a neighbour's shared slot
    __shared__ int s[1024];
    int n = blockDim.x * blockDim.y * blockDim.z;
    int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    s[t] = in[blockIdx.x * n + t] * 2;
    __syncthreads();
    int v = s[(t + 1) % n];
    __syncthreads();
    s[t] = v + 1;
    __syncthreads();
    out[blockIdx.x * n + t] = s[(t + n - 1) % n];
}

extern "C" __global__ void t_shuffles(float* f, int* i, double* d) {   // warp sums of three types
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    float a = f[t];
    int b = i[t];
    double c = d[t];
    for (int o = 16; o > 0; o >>= 1) {
        a += __shfl_xor_sync(0xffffffffu, a, o);
        b += __shfl_xor_sync(0xffffffffu, b, o);
        c += __shfl_xor_sync(0xffffffffu, c, o);
    }
    f[t] = a;
    i[t] = b;
    d[t] = c;
}

extern "C" __global__ void t_early_exit(int keep, int* out) {   // exited threads do not hold a barrier
    __shared__ int count;
    if (threadIdx.x == 0) count = 0;
    __syncthreads();
    if ((int) threadIdx.x >= keep) return;
    atomicAdd(&count, 1);
    __syncthreads();
    __syncthreads();
    if (threadIdx.x == 0) out[blockIdx.x] = count;
}

extern "C" __global__ void t_deadlock(int* out) {   // half a warp shuffles while the other half waits at __syncthreads
    int v = threadIdx.x;
    if ((threadIdx.x & 31) < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
    else __syncthreads();
    out[threadIdx.x] = v;
}

extern "C" __global__ void t_shuffle_after_exit(int* out) {
    if ((threadIdx.x & 31) >= 16) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int) threadIdx.x, 1);
}

extern "C" __global__ void t_dyn_shared(float* out) {   // reads a slot nobody wrote: poison (NaN)
    extern __shared__ float t_smem[];
    if (threadIdx.x > 0) t_smem[threadIdx.x] = (float) threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = t_smem[threadIdx.x];
}
alignas(16) thread_local float t_smem[SAHARA_EMU_MAX_DYNAMIC_SHARED / sizeof(float)];
static void* t_smem_at() { return t_smem; }

extern "C" __global__ void t_assert(int x) { assert(x != 3 || threadIdx.x != 5); }

extern "C" __global__ void t_barriers(int rounds, int* out) {   // switch-rate benchmark
    __shared__ int s[1024];
    int acc = 0;
    for (int r = 0; r < rounds; r++) {
        s[threadIdx.x] = r + threadIdx.x;
        __syncthreads();
        acc += s[(threadIdx.x + 1) % blockDim.x];
        __syncthreads();
    }
    out[blockIdx.x * blockDim.x + threadIdx.x] = acc;
}

static void register_test_kernels() {
    static const sahara_emu_dyn_shared none[] = {nullptr}, dyn[] = {t_smem_at};
    sahara_emu_register_kernel("t_rotate", "selftest", t_rotate, none, 0);
    sahara_emu_register_kernel("t_shuffles", "selftest", t_shuffles, none, 0);
    sahara_emu_register_kernel("t_early_exit", "selftest", t_early_exit, none, 0);
    sahara_emu_register_kernel("t_deadlock", "selftest", t_deadlock, none, 0);
    sahara_emu_register_kernel("t_shuffle_after_exit", "selftest", t_shuffle_after_exit, none, 0);
    sahara_emu_register_kernel("t_dyn_shared", "selftest", t_dyn_shared, dyn, 1);
    sahara_emu_register_kernel("t_assert", "selftest", t_assert, none, 0);
    sahara_emu_register_kernel("t_barriers", "selftest", t_barriers, none, 0);
}

template <typename T> static T* dev(size_t n) { return static_cast<T*>(sahara_emu_malloc(n * sizeof(T))); }

static int launch(const char* name, dim3 g, dim3 b, unsigned shared, std::vector<void*> params, std::string* msg = nullptr) {
    char err[512];
    int rc = sahara_emu_launch(name, g.x, g.y, g.z, b.x, b.y, b.z, shared, params.data(), err, sizeof err);
    if (msg) *msg = err;
    else if (rc != 0) printf("  launch %s: %d %s\n", name, rc, err);
    return rc;
}

static void test_mechanics() {
    {   // barriers, several block shapes
        dim3 shapes[] = {dim3(32), dim3(256), dim3(1024), dim3(48), dim3(8, 4, 2), dim3(1)};
        for (dim3 b : shapes) {
            int n = (int) (b.x * b.y * b.z), blocks = 5;
            int *in = dev<int>((size_t) n * blocks), *out = dev<int>((size_t) n * blocks);
            for (int i = 0; i < n * blocks; i++) in[i] = i;
            CHECK(launch("t_rotate", dim3(blocks), b, 0, {&in, &out}) == 0, "t_rotate %ux%ux%u", b.x, b.y, b.z);
            int bad = 0;
            for (int k = 0; k < blocks; k++)
                for (int t = 0; t < n; t++) bad += out[k * n + t] != in[k * n + t] * 2 + 1;
            CHECK(bad == 0, "t_rotate %ux%ux%u: %d wrong", b.x, b.y, b.z, bad);
            sahara_emu_free(in);
            sahara_emu_free(out);
        }
    }
    {   // shuffles of float / int / double
        int n = 256;
        float* f = dev<float>(n);
        int* i = dev<int>(n);
        double* d = dev<double>(n);
        for (int t = 0; t < n; t++) f[t] = (float) t, i[t] = t, d[t] = t * 0.5;
        CHECK(launch("t_shuffles", dim3(2), dim3(128), 0, {&f, &i, &d}) == 0, "t_shuffles");
        int bad = 0;
        for (int t = 0; t < n; t++) {
            int w = t / 32 * 32, s = 0;
            for (int l = 0; l < 32; l++) s += w + l;
            bad += f[t] != (float) s || i[t] != s || d[t] != s * 0.5;
        }
        CHECK(bad == 0, "t_shuffles: %d wrong", bad);
    }
    {   // early exit, then barriers
        int* out = dev<int>(3);
        int keep = 100;
        CHECK(launch("t_early_exit", dim3(3), dim3(256), 0, {&keep, &out}) == 0, "t_early_exit");
        CHECK(out[0] == 100 && out[2] == 100, "t_early_exit counted %d", out[0]);
    }
    std::string m;
    {   // deadlock and shuffles with exited lanes fail the launch
        int* out = dev<int>(64);
        CHECK(launch("t_deadlock", dim3(1), dim3(64), 0, {&out}, &m) == 719, "t_deadlock: %s", m.c_str());
        CHECK(m.find("deadlock") != std::string::npos, "t_deadlock message: %s", m.c_str());
        printf("  deadlock reported as: %s\n", m.c_str());
        CHECK(launch("t_shuffle_after_exit", dim3(1), dim3(32), 0, {&out}, &m) == 719, "t_shuffle_after_exit: %s", m.c_str());
        printf("  shuffle after exit reported as: %s\n", m.c_str());
        int three = 3;
        CHECK(launch("t_assert", dim3(2), dim3(32), 0, {&three}, &m) == 710, "t_assert: %s", m.c_str());
        printf("  assert reported as: %s\n", m.c_str());
        int two = 2;
        CHECK(launch("t_assert", dim3(2), dim3(32), 0, {&two}) == 0, "t_assert passing");
    }
    {   // dynamic shared memory starts as poison
        float* out = dev<float>(64);
        CHECK(launch("t_dyn_shared", dim3(2), dim3(64), 64 * 4, {&out}) == 0, "t_dyn_shared");
        CHECK(std::isnan(out[0]) && out[5] == 5.0f, "t_dyn_shared read %g %g", out[0], out[5]);
    }
    {   // invalid launches run nothing
        int* out = dev<int>(1);
        int keep = 1;
        std::vector<void*> p = {&keep, &out};
        struct Case { dim3 g, b; unsigned shared; const char* text; } cases[] = {
            {dim3(1, 70000), dim3(32), 0, "gridDim.y 70000 > 65535"}, {dim3(0), dim3(32), 0, "gridDim.x 0 < 1"},
            {dim3(1, 1, 65536), dim3(32), 0, "gridDim.z 65536 > 65535"}, {dim3(1), dim3(1025), 0, "blockDim.x 1025 > 1024"},
            {dim3(1), dim3(1, 1, 65), 0, "blockDim.z 65 > 64"}, {dim3(1), dim3(64, 32), 0, "threads > 1024"},
            {dim3(1), dim3(0), 0, "blockDim.x 0 < 1"}, {dim3(1), dim3(32), 49153, "49153 bytes > 49152"},
            {dim3(2147483648u), dim3(32), 0, "gridDim.x 2147483648 > 2147483647"}};
        for (auto& c : cases) {
            out[0] = -7;
            int rc = launch("t_early_exit", c.g, c.b, c.shared, p, &m);
            CHECK(rc == 1 && m.find(c.text) != std::string::npos && out[0] == -7, "rc %d message '%s', expected '%s'", rc, m.c_str(), c.text);
        }
        CHECK(launch("no_such_kernel", dim3(1), dim3(1), 0, {}, &m) == 500, "unknown kernel: %s", m.c_str());
    }
    {   // __float2half_rn against the compiler's _Float16 (IEEE round to nearest even), __half2float exact
        int bad = 0;
        std::mt19937 rng(1);
        for (long k = 0; k < 4000000; k++) {
            uint32_t u = k < 65536 * 16 ? (uint32_t) (0x33000000u + (uint32_t) k * 97u) : (uint32_t) rng();
            if (k % 7 == 0) u = ((uint32_t) rng() & 0x807fffffu) | (uint32_t) (96 + rng() % 48) << 23;   // near the half range
            float x = __uint_as_float(u);
            _Float16 h = (_Float16) x;
            unsigned short ref;
            memcpy(&ref, &h, 2);
            unsigned short got = __float2half_rn(x).__x;
            if (x != x) bad += (got & 0x7fffu) <= 0x7c00u;
            else bad += got != ref;
        }
        for (unsigned v = 0; v < 65536; v++) {
            _Float16 h;
            unsigned short s = (unsigned short) v;
            memcpy(&h, &s, 2);
            float ref = (float) h, got = __half2float(__ushort_as_half(s));
            bad += ref != got && !(ref != ref && got != got);
        }
        CHECK(bad == 0, "__half conversions: %d wrong", bad);
    }
}

static float bf16(float x) {   // round to bf16 and back
    uint32_t u = __float_as_uint(x);
    u += 0x7fffu + ((u >> 16) & 1u);
    return __uint_as_float(u & 0xffff0000u);
}

static void test_blas() {
    void* h;
    CHECK(cublasCreate_v2(&h) == 0, "cublasCreate");
    std::mt19937 rng(2);
    std::uniform_real_distribution<float> U(-1, 1);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int type : {0, 2, 14}) {
                int m = 37, n = 23, k = 41, lda = (ta ? k : m) + 3, ldb = (tb ? n : k) + 1, ldc = m + 2;
                int cols_a = ta ? m : k, cols_b = tb ? k : n;
                std::vector<float> A((size_t) lda * cols_a), B((size_t) ldb * cols_b);
                for (auto& x : A) x = U(rng);
                for (auto& x : B) x = U(rng);
                std::vector<uint16_t> A16(A.size()), B16(B.size());
                for (size_t i = 0; i < A.size(); i++) {
                    if (type == 2) { A16[i] = __float2half_rn(A[i]).__x; A[i] = __half2float(__ushort_as_half(A16[i])); }
                    if (type == 14) { A[i] = bf16(A[i]); A16[i] = (uint16_t) (__float_as_uint(A[i]) >> 16); }
                }
                for (size_t i = 0; i < B.size(); i++) {
                    if (type == 2) { B16[i] = __float2half_rn(B[i]).__x; B[i] = __half2float(__ushort_as_half(B16[i])); }
                    if (type == 14) { B[i] = bf16(B[i]); B16[i] = (uint16_t) (__float_as_uint(B[i]) >> 16); }
                }
                std::vector<float> C((size_t) ldc * n, 7.0f);
                float alpha = 1.5f, beta = 0.5f;
                const void* a = type == 0 ? (const void*) A.data() : A16.data();
                const void* b = type == 0 ? (const void*) B.data() : B16.data();
                std::vector<float> C0 = C;
                int st = cublasGemmEx(h, ta, tb, m, n, k, &alpha, a, type, lda, b, type, ldb, &beta, C.data(), 0, ldc, 68, -1);
                CHECK(st == 0, "gemm status %d", st);
                double worst = 0;
                for (int j = 0; j < n; j++)
                    for (int i = 0; i < m; i++) {
                        double s = 0;
                        for (int p = 0; p < k; p++)
                            s += (double) (ta ? A[(size_t) i * lda + p] : A[(size_t) p * lda + i]) * (tb ? B[(size_t) p * ldb + j] : B[(size_t) j * ldb + p]);
                        double ref = alpha * s + beta * C0[(size_t) j * ldc + i];
                        worst = std::max(worst, std::fabs(ref - C[(size_t) j * ldc + i]));
                    }
                CHECK(worst < 1e-4, "gemm ta %d tb %d type %d: error %g", ta, tb, type, worst);
                CHECK(C[m] == 7.0f, "gemm wrote past m in the ldc padding");
            }
    {   // status codes
        float one = 1, zero = 0, c[4];
        CHECK(cublasGemmEx(h, 0, 0, 2, 2, 2, &one, c, 0, 1, c, 0, 2, &zero, c, 0, 2, 68, -1) == 7, "lda < m");
        CHECK(cublasGemmEx(h, 0, 0, 2, 2, 2, &one, c, 0, 2, c, 0, 2, &zero, c, 0, 1, 68, -1) == 7, "ldc < m");
        CHECK(cublasGemmEx(h, 0, 0, 2, 2, 2, &one, c, 0, 2, c, 2, 2, &zero, c, 0, 2, 68, -1) == 15, "mixed types");
        CHECK(cublasGemmEx(h, 0, 0, 2, 2, 2, &one, c, 0, 2, c, 0, 2, &zero, c, 0, 2, 64, -1) == 15, "compute 16F");
        CHECK(cublasGemmEx(h, 0, 0, -1, 2, 2, &one, c, 0, 2, c, 0, 2, &zero, c, 0, 2, 68, -1) == 7, "m < 0");
        float nan4[4];
        for (float& x : nan4) x = NAN;
        float a4[4] = {1, 2, 3, 4};
        CHECK(cublasGemmEx(h, 0, 0, 2, 2, 2, &one, a4, 0, 2, a4, 0, 2, &zero, nan4, 0, 2, 68, -1) == 0 && nan4[0] == 7, "beta 0 ignores C");
    }
    {   // speed: 300 x 1000 x 1000
        int m = 1000, n = 300, k = 1000;
        std::vector<float> A((size_t) m * k), B((size_t) k * n), C((size_t) m * n);
        for (auto& x : A) x = U(rng);
        for (auto& x : B) x = U(rng);
        float one = 1, zero = 0;
        auto t0 = std::chrono::steady_clock::now();
        CHECK(cublasGemmEx(h, 1, 0, m, n, k, &one, A.data(), 0, k, B.data(), 0, k, &zero, C.data(), 0, m, 68, -1) == 0, "big gemm");
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        printf("  cublasGemmEx 1000x300x1000 (T,N): %.3f s, %.1f GFLOP/s\n", s, 2.0 * m * n * k / s / 1e9);
    }
    cublasDestroy_v2(h);

    void* sh;
    CHECK(cusolverDnCreate(&sh) == 0, "cusolverDnCreate");
    for (int n : {1, 2, 7, 60}) {
        std::vector<double> S((size_t) n * n);
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) S[(size_t) j * n + i] = S[(size_t) i * n + j] = U(rng) + (i == j ? 2.0 * (i % 3) : 0.0);
        std::vector<double> A = S, W(n);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) A[(size_t) j * n + i] = 1e300;   // the upper triangle is not read (uplo lower)
        int lwork = 0, info = -1;
        CHECK(cusolverDnDsyevd_bufferSize(sh, 1, 0, n, A.data(), n, W.data(), &lwork) == 0 && lwork > 0, "bufferSize");
        std::vector<double> work(lwork);
        CHECK(cusolverDnDsyevd(sh, 1, 0, n, A.data(), n, W.data(), work.data(), lwork, &info) == 0 && info == 0, "syevd info %d", info);
        double worst = 0;
        for (int c = 0; c < n; c++) {
            if (c > 0) CHECK(W[c - 1] <= W[c], "eigenvalues not ascending");
            for (int i = 0; i < n; i++) {   // S v = w v
                double sv = 0;
                for (int j = 0; j < n; j++) sv += S[(size_t) j * n + i] * A[(size_t) c * n + j];
                worst = std::max(worst, std::fabs(sv - W[c] * A[(size_t) c * n + i]));
            }
        }
        CHECK(worst < 1e-10, "syevd n %d residual %g", n, worst);
        CHECK(cusolverDnDsyevd(sh, 1, 0, n, A.data(), n, W.data(), work.data(), lwork - 1, &info) == 3 && info == -8, "small lwork");
    }
}

// ---- real kernels (--real) -------------------------------------------------------------------------------------------
static bool has_kernel(const char* name) {
    char all[8192];
    sahara_emu_kernels(all, sizeof all);
    std::string s = std::string(",") + all + ",";
    bool ok = s.find(std::string(",") + name + ",") != std::string::npos;
    if (!ok) printf("  (no kernel %s: skipped)\n", name);
    return ok;
}

static void test_real() {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> U(-2, 2);
    if (has_kernel("rmsnorm_f32")) {
        int rows = 3, n = 1000;
        float *x = dev<float>((size_t) rows * n), *o = dev<float>((size_t) rows * n), *g = dev<float>(n), eps = 1e-5f;
        for (int i = 0; i < rows * n; i++) x[i] = U(rng);
        for (int i = 0; i < n; i++) g[i] = U(rng);
        CHECK(launch("rmsnorm_f32", dim3(rows), dim3(256), 0, {&o, &x, &g, &n, &eps}) == 0, "rmsnorm_f32");
        double worst = 0;
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < n; i++) ss += (double) x[r * n + i] * x[r * n + i];
            float inv = (float) (1.0 / std::sqrt(ss / n + eps));
            for (int i = 0; i < n; i++) worst = std::max(worst, (double) std::fabs(x[r * n + i] * inv * g[i] - o[r * n + i]));
        }
        CHECK(worst < 1e-5, "rmsnorm_f32 error %g", worst);
        printf("  rmsnorm_f32: max error %g\n", worst);
    }
    if (has_kernel("attention")) {
        // two sequences packed: lengths 5 and 300 (more than one tile of 128 keys), heads 4, kvHeads 2, headDim 64
        int heads = 4, kvHeads = 2, hd = 64, qCols = heads * hd, kvCols = kvHeads * hd;
        std::vector<int> pos, start;
        for (int p = 0; p < 5; p++) pos.push_back(p), start.push_back(0);
        for (int p = 0; p < 300; p += 37) pos.push_back(p), start.push_back(5);
        pos.push_back(299), start.push_back(5);
        int T = (int) pos.size(), S = 305;
        float scale = 0.125f;
        float *q = dev<float>((size_t) T * qCols), *k = dev<float>((size_t) S * kvCols), *v = dev<float>((size_t) S * kvCols),
              *out = dev<float>((size_t) T * qCols);
        int *rp = dev<int>(T), *rs = dev<int>(T);
        for (int i = 0; i < T * qCols; i++) q[i] = U(rng);
        for (int i = 0; i < S * kvCols; i++) k[i] = U(rng), v[i] = U(rng);
        for (int t = 0; t < T; t++) rp[t] = pos[t], rs[t] = start[t];
        CHECK(launch("attention", dim3(T * heads), dim3(128), (unsigned) (hd + 128) * 4,
                     {&out, &q, &k, &v, &rp, &rs, &heads, &kvHeads, &hd, &qCols, &kvCols, &scale}) == 0, "attention");
        double worst = 0;
        for (int t = 0; t < T; t++)
            for (int h = 0; h < heads; h++) {
                int g = h / (heads / kvHeads), n = pos[t] + 1;
                std::vector<double> s(n);
                double mx = -1e300, sum = 0;
                for (int j = 0; j < n; j++) {
                    double d = 0;
                    for (int e = 0; e < hd; e++) d += (double) q[t * qCols + h * hd + e] * k[(start[t] + j) * kvCols + g * hd + e];
                    s[j] = d * scale;
                    mx = std::max(mx, s[j]);
                }
                for (int j = 0; j < n; j++) sum += s[j] = std::exp(s[j] - mx);
                for (int e = 0; e < hd; e++) {
                    double o = 0;
                    for (int j = 0; j < n; j++) o += s[j] / sum * v[(start[t] + j) * kvCols + g * hd + e];
                    worst = std::max(worst, std::fabs(o - out[t * qCols + h * hd + e]));
                }
            }
        CHECK(worst < 1e-4, "attention error %g", worst);
        printf("  attention (T %d, heads 4/2, headDim 64, up to 300 keys): max error %g\n", T, worst);
    }
    if (has_kernel("top_k")) {
        int rows = 3, n = 5000, kk = 7;
        float* x = dev<float>((size_t) rows * n);
        for (int i = 0; i < rows * n; i++) x[i] = (float) (int) (U(rng) * 100);   // many ties
        x[2 * n + 17] = NAN;
        int *ids = dev<int>((size_t) rows * kk), *fin = dev<int>(rows);
        float* vals = dev<float>((size_t) rows * kk);
        CHECK(launch("top_k", dim3(rows), dim3(256), 0, {&x, &n, &kk, &ids, &vals, &fin}) == 0, "top_k");
        int bad = 0;
        for (int r = 0; r < rows; r++) {
            std::vector<int> idx;
            for (int c = 0; c < n; c++) if (std::isfinite(x[r * n + c])) idx.push_back(c);
            std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return x[r * n + a] > x[r * n + b]; });
            for (int j = 0; j < kk; j++) bad += ids[r * kk + j] != idx[j] || vals[r * kk + j] != x[r * n + idx[j]];
            bad += fin[r] != (r == 2 ? 0 : 1);
        }
        CHECK(bad == 0, "top_k: %d wrong", bad);
        printf("  top_k (3 rows x 5000, k 7, blockDim 256, ties, a NaN): %d wrong\n", bad);
    }
    if (has_kernel("kl_divergence")) {
        int rows = 4, n = 3000;
        float *p = dev<float>((size_t) rows * n), *q = dev<float>((size_t) rows * n);
        double* out = dev<double>(rows);
        for (int i = 0; i < rows * n; i++) p[i] = U(rng) * 3, q[i] = p[i] + U(rng) * 0.3f;
        q[3 * n + 5] = INFINITY;
        for (int official = 0; official < 2; official++) {
            CHECK(launch("kl_divergence", dim3(rows), dim3(256), 0, {&p, &q, &n, &official, &out}) == 0, "kl_divergence");
            for (int r = 0; r < rows; r++) {
                auto lse = [&](const float* x) {
                    double m = -1e300, s = 0;
                    for (int i = 0; i < n; i++) m = std::max(m, (double) x[i]);
                    for (int i = 0; i < n; i++) s += std::exp(x[i] - m);
                    return m + std::log(s);
                };
                double pz = lse(p + r * n), qz = lse(q + r * n), kl = 0;
                for (int i = 0; i < n; i++) {
                    double lp = p[r * n + i] - pz, lq = q[r * n + i] - qz;
                    if (official) { double pp = std::exp(lp) + 1e-12, qq = std::exp(lq) + 1e-12; kl += pp * std::log(pp / qq); }
                    else kl += std::exp(lp) * (lp - lq);
                }
                if (r == 3) CHECK(std::isnan(out[r]), "kl_divergence with Inf: %g", out[r]);
                else CHECK(std::fabs(out[r] - kl) < 1e-12 + 1e-9 * std::fabs(kl), "kl_divergence row %d official %d: %.17g vs %.17g", r, official, out[r], kl);
            }
        }
        printf("  kl_divergence (4 rows x 3000, both variants, an Inf row): checked\n");
    }
}

static void bench() {
    int threads = 256, blocks = 8, rounds = 2000;
    int* out = dev<int>((size_t) threads * blocks);
    unsigned long long s0 = sahara_emu_switch_count();
    auto t0 = std::chrono::steady_clock::now();
    CHECK(launch("t_barriers", dim3(blocks), dim3(threads), 0, {&rounds, &out}) == 0, "t_barriers");
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    unsigned long long sw = sahara_emu_switch_count() - s0;
    printf("  fiber switches: %llu in %.3f s = %.1f M/s over the worker pool (%d blocks x %d threads x %d x 2 barriers)\n", sw, s,
           sw / s / 1e6, blocks, threads, rounds);
    const int warps = 8;
    float* f = dev<float>(32 * warps * 64);
    int* i = dev<int>(32 * warps * 64);
    double* d = dev<double>(32 * warps * 64);
    for (int t = 0; t < 32 * warps * 64; t++) f[t] = 1, i[t] = 1, d[t] = 1;
    s0 = sahara_emu_switch_count();
    t0 = std::chrono::steady_clock::now();
    CHECK(launch("t_shuffles", dim3(64), dim3(32 * warps), 0, {&f, &i, &d}) == 0, "t_shuffles");
    s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sw = sahara_emu_switch_count() - s0;
    printf("  shuffles: 64 blocks x 256 threads x 15 shuffles in %.3f s (%llu switches, %.1f M/s)\n", s, sw, sw / s / 1e6);
}

static void test_library(const char* self) {   // the .so exports the ABI and runs a kernel
    std::string path = self;
    path = path.substr(0, path.rfind('/') + 1) + "libsahara_cuda_emulation.so";
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    CHECK(lib != nullptr, "dlopen %s: %s", path.c_str(), dlerror());
    if (!lib) return;
    const char* names[] = {"sahara_emu_launch", "sahara_emu_kernels", "sahara_emu_malloc", "sahara_emu_free", "cublasCreate_v2",
                           "cublasDestroy_v2", "cublasSetStream_v2", "cublasGetStatusString", "cublasGemmEx", "cusolverDnCreate",
                           "cusolverDnDestroy", "cusolverDnSetStream", "cusolverDnDsyevd_bufferSize", "cusolverDnDsyevd"};
    for (const char* n : names) CHECK(dlsym(lib, n) != nullptr, "the library does not export %s", n);
    auto kernels = (int (*)(char*, int)) dlsym(lib, "sahara_emu_kernels");
    if (kernels) {
        char all[8192];
        int count = kernels(all, sizeof all);
        CHECK(count > 0, "no kernels registered in the library");
        printf("  library: %d kernels: %s\n", count, all);
    }
    auto mal = (void* (*) (size_t)) dlsym(lib, "sahara_emu_malloc");
    if (mal) {
        auto* p = (unsigned char*) mal(1000);
        CHECK(((uintptr_t) p & 255) == 0 && p[0] == 0xFF && p[999] == 0xFF, "sahara_emu_malloc: aligned 256, 0xFF");
    }
}

int main(int argc, char** argv) {
    bool real = false, doBench = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--real")) real = true;
        if (!strcmp(argv[i], "--bench")) doBench = true;
    }
    register_test_kernels();
    auto t0 = std::chrono::steady_clock::now();
    test_mechanics();
    test_blas();
    test_library(argv[0]);
    if (real) test_real();
    if (doBench) bench();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("cuda emulation self-check: %s (%.2f s)\n", failures ? "FAILED" : "ok", s);
    return failures ? 1 : 0;
}
