// Minimal stand-ins for the two vendor libraries the engine binds through FFM (Cublas.java, Cusolver.java), with
// their real C signatures and status codes, so the Java classes bind to libsahara_cuda_emulation.so unchanged.
//   cuBLAS:   handle create / destroy / set stream, cublasGetStatusString, cublasGemmEx (FP32 accumulation)
//   cuSOLVER: handle create / destroy / set stream, cusolverDnDsyevd_bufferSize, cusolverDnDsyevd (cyclic Jacobi)
// "Device" pointers are host pointers here (sahara_emu_malloc); streams are ignored (everything is synchronous).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#define SAHARA_EMU_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" __attribute__((visibility("hidden"))) void sahara_emu_parallel_for(long n, void (*body)(void*, long), void* ctx);

namespace {

// cublasStatus_t
constexpr int CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_INITIALIZED = 1, CUBLAS_STATUS_ALLOC_FAILED = 3,
              CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_NOT_SUPPORTED = 15;
// cudaDataType_t
constexpr int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14;
// cublasComputeType_t
constexpr int CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_PEDANTIC = 69;
// cusolverStatus_t
constexpr int CUSOLVER_STATUS_SUCCESS = 0, CUSOLVER_STATUS_NOT_INITIALIZED = 1, CUSOLVER_STATUS_ALLOC_FAILED = 2,
              CUSOLVER_STATUS_INVALID_VALUE = 3;

constexpr uint32_t CUBLAS_MAGIC = 0x5ab1a5b1u, CUSOLVER_MAGIC = 0x5ab150d5u;
struct Handle {
    uint32_t magic;
    void* stream;
};

inline float bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
inline uint32_t float_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t) (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1fu) return bits_to_float(sign | 0x7f800000u | (m << 13));
    if (e != 0) return bits_to_float(sign | ((e + 112u) << 23) | (m << 13));
    float v = (float) m * 5.9604644775390625e-8f;
    return sign ? -v : v;
}
uint16_t float_to_half(float f) {   // round to nearest even (as cuda_emulation.h)
    uint32_t x = float_to_bits(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return 0x7fffu;
    if (ax >= 0x477ff000u) return (uint16_t) (sign | 0x7c00u);
    if (ax >= 0x38800000u) {
        uint32_t h = ((((ax >> 23) - 112u) << 10) | ((ax >> 13) & 0x3ffu)), rem = ax & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
        return (uint16_t) (sign | h);
    }
    if (ax <= 0x33000000u) return (uint16_t) sign;
    uint32_t mant = (ax & 0x7fffffu) | 0x800000u, shift = 126u - (ax >> 23);
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (h & 1u))) h++;
    return (uint16_t) (sign | h);
}
inline float bf16_to_float(uint16_t b) { return bits_to_float((uint32_t) b << 16); }
uint16_t float_to_bf16(float f) {   // round to nearest even, NaN stays NaN (quiet)
    uint32_t u = float_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t) ((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t) (u >> 16);
}

inline float load(const void* p, int type, size_t i) {
    if (type == CUDA_R_32F) return static_cast<const float*>(p)[i];
    uint16_t h = static_cast<const uint16_t*>(p)[i];
    return type == CUDA_R_16F ? half_to_float(h) : bf16_to_float(h);
}

// C (m×n) = alpha · op(A) (m×k) · op(B) (k×n) + beta · C, column-major. op(A) is packed as float into strips of MR rows
// ([strip][p][MR]), op(B) into panels of NR columns ([panel][p][NR]); each C element sums over p in order, one
// product at a time (no FMA, no reordering), so the result does not depend on the vector width the CPU has.
constexpr int MR = 16, NR = 6;
typedef float v8 __attribute__((vector_size(32)));

struct Gemm {
    int m, n, k;
    float alpha, beta;
    const float* ap;   // packed op(A)
    const float* bp;   // packed op(B)
    void* c;
    int ctype, ldc;
    int strips, panels;
};

__attribute__((target_clones("avx2", "default")))
void micro(const float* a, const float* b, int k, float acc[NR][MR]) {
    v8 c[NR][2];
    for (int j = 0; j < NR; j++) c[j][0] = c[j][1] = v8{0, 0, 0, 0, 0, 0, 0, 0};
    for (int p = 0; p < k; p++) {
        v8 a0, a1;
        memcpy(&a0, a + (size_t) p * MR, 32);
        memcpy(&a1, a + (size_t) p * MR + 8, 32);
        const float* bq = b + (size_t) p * NR;
        for (int j = 0; j < NR; j++) {
            v8 bj = v8{0, 0, 0, 0, 0, 0, 0, 0} + bq[j];
            c[j][0] = c[j][0] + a0 * bj;
            c[j][1] = c[j][1] + a1 * bj;
        }
    }
    for (int j = 0; j < NR; j++) {
        memcpy(acc[j], &c[j][0], 32);
        memcpy(acc[j] + 8, &c[j][1], 32);
    }
}

void gemm_tile(void* ctx, long t) {
    const Gemm& g = *static_cast<const Gemm*>(ctx);
    int s = (int) (t % g.strips), q = (int) (t / g.strips);
    float acc[NR][MR];
    micro(g.ap + (size_t) s * g.k * MR, g.bp + (size_t) q * g.k * NR, g.k, acc);
    for (int j = 0; j < NR; j++) {
        int col = q * NR + j;
        if (col >= g.n) break;
        for (int i = 0; i < MR; i++) {
            int row = s * MR + i;
            if (row >= g.m) break;
            size_t at = (size_t) col * g.ldc + row;
            float v = g.alpha * acc[j][i];
            if (g.beta != 0) v += g.beta * load(g.c, g.ctype, at);   // beta = 0: C is not read (it may hold NaN)
            if (g.ctype == CUDA_R_32F) static_cast<float*>(g.c)[at] = v;
            else static_cast<uint16_t*>(g.c)[at] = g.ctype == CUDA_R_16F ? float_to_half(v) : float_to_bf16(v);
        }
    }
}

bool is_type(int t) { return t == CUDA_R_32F || t == CUDA_R_16F || t == CUDA_R_16BF; }

Handle* as_handle(void* h, uint32_t magic) {
    auto* p = static_cast<Handle*>(h);
    return p && p->magic == magic ? p : nullptr;
}

// ---- symmetric eigensolver: cyclic Jacobi in double ------------------------------------------------------------------
// a: n×n row-major (symmetric, overwritten), v: n×n eigenvectors as columns (row-major), w: eigenvalues (unsorted).
// Returns the number of sweeps, or -1 when it did not converge.
int jacobi(int n, std::vector<double>& a, std::vector<double>& v, std::vector<double>& w) {
    v.assign((size_t) n * n, 0.0);
    for (int i = 0; i < n; i++) v[(size_t) i * n + i] = 1.0;
    for (int sweep = 1; sweep <= 100; sweep++) {
        double off = 0, total = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double x = a[(size_t) i * n + j] * a[(size_t) i * n + j];
                total += x;
                if (i != j) off += x;
            }
        if (off == 0 || off <= 1e-30 * total) {
            w.resize(n);
            for (int i = 0; i < n; i++) w[i] = a[(size_t) i * n + i];
            return sweep;
        }
        for (int p = 0; p < n - 1; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[(size_t) p * n + q];
                if (apq == 0) continue;
                double app = a[(size_t) p * n + p], aqq = a[(size_t) q * n + q];
                double theta = (aqq - app) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
                double c = 1 / std::sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) {            // columns p, q
                    double akp = a[(size_t) k * n + p], akq = a[(size_t) k * n + q];
                    a[(size_t) k * n + p] = c * akp - s * akq;
                    a[(size_t) k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {            // rows p, q
                    double apk = a[(size_t) p * n + k], aqk = a[(size_t) q * n + k];
                    a[(size_t) p * n + k] = c * apk - s * aqk;
                    a[(size_t) q * n + k] = s * apk + c * aqk;
                }
                a[(size_t) p * n + q] = a[(size_t) q * n + p] = 0;
                for (int k = 0; k < n; k++) {
                    double vkp = v[(size_t) k * n + p], vkq = v[(size_t) k * n + q];
                    v[(size_t) k * n + p] = c * vkp - s * vkq;
                    v[(size_t) k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    return -1;
}

}  // namespace

// ---- cuBLAS ---------------------------------------------------------------------------------------------------------
SAHARA_EMU_EXPORT int cublasCreate_v2(void** handle) {
    if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
    auto* h = new (std::nothrow) Handle{CUBLAS_MAGIC, nullptr};
    if (!h) return CUBLAS_STATUS_ALLOC_FAILED;
    *handle = h;
    return CUBLAS_STATUS_SUCCESS;
}

SAHARA_EMU_EXPORT int cublasDestroy_v2(void* handle) {
    Handle* h = as_handle(handle, CUBLAS_MAGIC);
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->magic = 0;
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}

SAHARA_EMU_EXPORT int cublasSetStream_v2(void* handle, void* stream) {
    Handle* h = as_handle(handle, CUBLAS_MAGIC);
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->stream = stream;
    return CUBLAS_STATUS_SUCCESS;
}

SAHARA_EMU_EXPORT const char* cublasGetStatusString(int status) {
    switch (status) {
        case 0: return "the operation completed successfully";
        case 1: return "the library was not initialized";
        case 3: return "the resource allocation failed";
        case 7: return "an invalid numeric value was used as an argument";
        case 8: return "an absent device architectural feature is required";
        case 11: return "an access to GPU memory space failed";
        case 13: return "the GPU program failed to execute";
        case 14: return "an internal operation failed";
        case 15: return "the functionality requested is not supported";
        case 16: return "error detected trying to check the license";
        default: return "unknown error";
    }
}

SAHARA_EMU_EXPORT int cublasGemmEx(void* handle, int transa, int transb, int m, int n, int k, const void* alpha, const void* A, int Atype,
                                   int lda, const void* B, int Btype, int ldb, const void* beta, void* C, int Ctype, int ldc,
                                   int computeType, int algo) {
    if (!as_handle(handle, CUBLAS_MAGIC)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (transa < 0 || transa > 2 || transb < 0 || transb > 2) return CUBLAS_STATUS_INVALID_VALUE;   // N, T, C (= T for reals)
    if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
    bool ta = transa != 0, tb = transb != 0;
    if (lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m)) return CUBLAS_STATUS_INVALID_VALUE;
    if (algo < -1 || algo > 115) return CUBLAS_STATUS_INVALID_VALUE;
    if (computeType != CUBLAS_COMPUTE_32F && computeType != CUBLAS_COMPUTE_32F_PEDANTIC) return CUBLAS_STATUS_NOT_SUPPORTED;
    // CUBLAS_COMPUTE_32F type combinations: A and B alike; C float32, or the inputs' own 16-bit type
    if (!is_type(Atype) || !is_type(Btype) || !is_type(Ctype) || Atype != Btype || (Ctype != CUDA_R_32F && Ctype != Atype))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    if (!alpha || !beta || !C || (k > 0 && (!A || !B))) return CUBLAS_STATUS_INVALID_VALUE;

    Gemm g;
    g.m = m; g.n = n; g.k = k;
    g.alpha = *static_cast<const float*>(alpha);
    g.beta = *static_cast<const float*>(beta);
    g.c = C; g.ctype = Ctype; g.ldc = ldc;
    g.strips = (m + MR - 1) / MR;
    g.panels = (n + NR - 1) / NR;
    std::vector<float> ap((size_t) g.strips * k * MR, 0.0f), bp((size_t) g.panels * k * NR, 0.0f);
    for (int s = 0; s < g.strips; s++)             // op(A)(i, p) = A[i + p lda] (N) or A[p + i lda] (T)
        for (int p = 0; p < k; p++)
            for (int r = 0; r < MR; r++) {
                int i = s * MR + r;
                if (i < m) ap[((size_t) s * k + p) * MR + r] = load(A, Atype, ta ? (size_t) i * lda + p : (size_t) p * lda + i);
            }
    for (int q = 0; q < g.panels; q++)             // op(B)(p, j) = B[p + j ldb] (N) or B[j + p ldb] (T)
        for (int p = 0; p < k; p++)
            for (int r = 0; r < NR; r++) {
                int j = q * NR + r;
                if (j < n) bp[((size_t) q * k + p) * NR + r] = load(B, Btype, tb ? (size_t) p * ldb + j : (size_t) j * ldb + p);
            }
    g.ap = ap.data();
    g.bp = bp.data();
    sahara_emu_parallel_for((long) g.strips * g.panels, gemm_tile, &g);
    return CUBLAS_STATUS_SUCCESS;
}

// ---- cuSOLVER -------------------------------------------------------------------------------------------------------
SAHARA_EMU_EXPORT int cusolverDnCreate(void** handle) {
    if (!handle) return CUSOLVER_STATUS_INVALID_VALUE;
    auto* h = new (std::nothrow) Handle{CUSOLVER_MAGIC, nullptr};
    if (!h) return CUSOLVER_STATUS_ALLOC_FAILED;
    *handle = h;
    return CUSOLVER_STATUS_SUCCESS;
}

SAHARA_EMU_EXPORT int cusolverDnDestroy(void* handle) {
    Handle* h = as_handle(handle, CUSOLVER_MAGIC);
    if (!h) return CUSOLVER_STATUS_NOT_INITIALIZED;
    h->magic = 0;
    delete h;
    return CUSOLVER_STATUS_SUCCESS;
}

SAHARA_EMU_EXPORT int cusolverDnSetStream(void* handle, void* stream) {
    Handle* h = as_handle(handle, CUSOLVER_MAGIC);
    if (!h) return CUSOLVER_STATUS_NOT_INITIALIZED;
    h->stream = stream;
    return CUSOLVER_STATUS_SUCCESS;
}

namespace {
/** LAPACK dsyevd's workspace (1 + 6n + 2n²), so a caller sizing its buffer from bufferSize is held to a real number. */
int syevd_lwork(int n) { return n <= 1 ? 1 : 1 + 6 * n + 2 * n * n; }
int syevd_check(int jobz, int uplo, int n, int lda) {
    if (jobz != 0 && jobz != 1) return -1;
    if (uplo != 0 && uplo != 1) return -2;
    if (n < 0) return -3;
    if (lda < std::max(1, n)) return -5;
    return 0;
}
}  // namespace

SAHARA_EMU_EXPORT int cusolverDnDsyevd_bufferSize(void* handle, int jobz, int uplo, int n, const double* A, int lda, const double* W, int* lwork) {
    (void) A;
    (void) W;
    if (!as_handle(handle, CUSOLVER_MAGIC)) return CUSOLVER_STATUS_NOT_INITIALIZED;
    if (syevd_check(jobz, uplo, n, lda) != 0 || !lwork) return CUSOLVER_STATUS_INVALID_VALUE;
    *lwork = syevd_lwork(n);
    return CUSOLVER_STATUS_SUCCESS;
}

SAHARA_EMU_EXPORT int cusolverDnDsyevd(void* handle, int jobz, int uplo, int n, double* A, int lda, double* W, double* work, int lwork,
                                       int* devInfo) {
    if (!as_handle(handle, CUSOLVER_MAGIC)) return CUSOLVER_STATUS_NOT_INITIALIZED;
    int bad = syevd_check(jobz, uplo, n, lda);
    if (bad == 0 && lwork < syevd_lwork(n)) bad = -8;
    if (bad == 0 && n > 0 && (!A || !W || !work)) bad = !A ? -4 : !W ? -6 : -7;
    if (bad != 0) {
        if (devInfo) *devInfo = bad;
        return CUSOLVER_STATUS_INVALID_VALUE;
    }
    if (!devInfo) return CUSOLVER_STATUS_INVALID_VALUE;
    *devInfo = 0;
    if (n == 0) return CUSOLVER_STATUS_SUCCESS;
    std::vector<double> a((size_t) n * n), v, w;
    bool finite = true;
    for (int j = 0; j < n; j++)                    // column-major, one triangle only (uplo 0 = lower: i >= j)
        for (int i = 0; i < n; i++) {
            bool stored = uplo == 0 ? i >= j : i <= j;
            if (!stored) continue;
            double x = A[(size_t) j * lda + i];
            if (!std::isfinite(x)) finite = false;
            a[(size_t) i * n + j] = a[(size_t) j * n + i] = x;
        }
    int sweeps = finite ? jacobi(n, a, v, w) : -1;
    if (sweeps < 0) {
        for (int i = 0; i < n; i++) W[i] = NAN;
        *devInfo = 1;                              // as LAPACK: > 0, the algorithm failed to converge
        return CUSOLVER_STATUS_SUCCESS;
    }
    std::vector<int> order(n);
    for (int i = 0; i < n; i++) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return w[x] < w[y]; });
    for (int c = 0; c < n; c++) {
        int src = order[c];
        W[c] = w[src];
        if (jobz == 1)
            for (int i = 0; i < n; i++) A[(size_t) c * lda + i] = v[(size_t) i * n + src];
    }
    return CUSOLVER_STATUS_SUCCESS;
}
