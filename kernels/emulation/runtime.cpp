// The emulated device: runs registered kernels (kernels/*.cu compiled as C++ with cuda_emulation.h) on the CPU.
//
// Each CUDA thread of a block is a fiber with its own 64 KiB stack (a guard page below it). All fibers of a block
// run on one OS thread, round-robin: a fiber runs until it waits at a barrier (__syncthreads, or the warp barrier
// inside a shuffle), then hands the OS thread directly to the next ready fiber with a hand-written context switch
// (no system call). The fiber whose arrival completes a barrier releases the others and keeps running. Blocks are
// spread over a small pool of OS worker threads. Nothing is ready while some fiber still waits = a deadlock, which
// fails the launch (719) instead of hanging.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cuda_emulation.h"   // after the standard headers: its keyword macros (__noinline__ ...) would upset them
#undef threadIdx
#undef blockIdx
#undef blockDim
#undef gridDim

#define SAHARA_EMU_EXPORT extern "C" __attribute__((visibility("default")))

SAHARA_EMU_HIDDEN thread_local sahara_emu_block_info sahara_emu_block;
SAHARA_EMU_HIDDEN thread_local const uint3* sahara_emu_tid;

namespace {

// ---- context switch ------------------------------------------------------------------------------------------------
#if defined(__x86_64__)
extern "C" void sahara_emu_ctx_swap(void** save_sp, void* new_sp);
asm(R"(
    .text
    .p2align 4
    .globl sahara_emu_ctx_swap
    .hidden sahara_emu_ctx_swap
    .type sahara_emu_ctx_swap,@function
sahara_emu_ctx_swap:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size sahara_emu_ctx_swap, .-sahara_emu_ctx_swap
)");
struct Context {
    void* sp = nullptr;
};
inline void ctx_swap(Context& from, Context& to) { sahara_emu_ctx_swap(&from.sp, to.sp); }
inline void ctx_init(Context& c, char* stack, size_t size, void (*entry)()) {
    auto top = reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t(15);
    auto* sp = reinterpret_cast<void**>(top - 64);
    for (int i = 0; i < 6; i++) sp[i] = nullptr;     // r15 r14 r13 r12 rbx rbp
    sp[6] = reinterpret_cast<void*>(entry);          // `ret` target; entry then sees rsp = top - 8, as after a call
    sp[7] = nullptr;                                 // entry's return address: it never returns
    c.sp = sp;
}
#else
}  // namespace
#include <ucontext.h>
namespace {
// Portable fallback (a system call per switch: slow, but correct).
struct Context {
    ucontext_t uc;
};
inline void ctx_swap(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
inline void ctx_init(Context& c, char* stack, size_t size, void (*entry)()) {
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = stack;
    c.uc.uc_stack.ss_size = size;
    c.uc.uc_link = nullptr;
    makecontext(&c.uc, entry, 0);
}
#endif

constexpr size_t STACK_BYTES = 64 * 1024;
constexpr int MAX_THREADS = 1024;
constexpr int CODE_INVALID = 1, CODE_NOT_FOUND = 500, CODE_LAUNCH_FAILED = 719, CODE_ASSERT = 710;

// ---- registry -------------------------------------------------------------------------------------------------------
struct Kernel {
    std::string name, family;
    sahara_emu_fn fn;
    sahara_emu_trampoline trampoline;
    int arity;
    std::vector<sahara_emu_dyn_shared> dyn;
};
std::map<std::string, Kernel>& registry() {
    static std::map<std::string, Kernel> r;
    return r;
}
/** Families that did not compile for the emulation: family -> (their kernel names, comma-separated; the first error). */
std::map<std::string, std::pair<std::string, std::string>>& broken_families() {
    static std::map<std::string, std::pair<std::string, std::string>> b;
    return b;
}
std::vector<std::string>& registry_errors() {
    static std::vector<std::string> e;
    return e;
}

// ---- fibers and blocks --------------------------------------------------------------------------------------------
enum State : int { READY, WAIT_BLOCK, WAIT_WARP, DONE };

struct Fiber {
    Context ctx;
    uint3 tid;
    int index, warp, lane;
    State state;
};

struct Warp {
    unsigned exists, exited, waitMask, arrived;
    unsigned long long vals[32];
};

/** One OS worker thread's fibers and the block it is running. */
struct Worker {
    char* stacks = nullptr;          // MAX_THREADS stacks, a guard page at the bottom of each
    Context home;                    // the worker's own stack (the scheduler)
    std::vector<Fiber> fibers;
    std::vector<Warp> warps;
    int n = 0, live = 0, current = 0;
    int blockArrived = 0, opAcc = 0, opResult = 0;
    const Kernel* kernel = nullptr;
    void** params = nullptr;
    bool failed = false;
    int failCode = 0;
    std::string failMessage;
    unsigned long long switches = 0;

    Worker() {
        size_t bytes = STACK_BYTES * MAX_THREADS;
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) { perror("sahara cuda emulation: mmap of fiber stacks"); abort(); }
        stacks = static_cast<char*>(p);
        long page = sysconf(_SC_PAGESIZE);
        for (int i = 0; i < MAX_THREADS; i++) mprotect(stacks + i * STACK_BYTES, (size_t) page, PROT_NONE);
        fibers.resize(MAX_THREADS);
        warps.resize(MAX_THREADS / 32);
    }
};

thread_local Worker* tls_worker = nullptr;
std::atomic<unsigned long long> total_switches{0};

Worker& worker() {
    Worker* w = tls_worker;
    if (!w) {
        fprintf(stderr, "sahara cuda emulation: a device function was called outside a kernel launch\n");
        abort();
    }
    return *w;
}

inline void switch_to(Worker& w, int from, int to) {
    w.current = to;
    sahara_emu_tid = &w.fibers[to].tid;
    w.switches++;
    ctx_swap(w.fibers[from].ctx, w.fibers[to].ctx);
}

[[noreturn]] void fail_block(Worker& w, int code, const std::string& message) {
    if (!w.failed) {
        w.failed = true;
        w.failCode = code;
        const uint3& t = w.fibers[w.current].tid;
        const uint3& b = sahara_emu_block.blockIdx;
        char where[128];
        snprintf(where, sizeof where, "block (%u,%u,%u) thread (%u,%u,%u): ", b.x, b.y, b.z, t.x, t.y, t.z);
        w.failMessage = where + message;
    }
    w.switches++;
    ctx_swap(w.fibers[w.current].ctx, w.home);
    __builtin_unreachable();
}

std::string deadlock_message(Worker& w) {
    int atBlock = 0, atWarp = 0, done = 0, firstWarp = -1;
    for (int i = 0; i < w.n; i++) {
        State s = w.fibers[i].state;
        if (s == WAIT_BLOCK) atBlock++;
        else if (s == WAIT_WARP) { atWarp++; if (firstWarp < 0) firstWarp = w.fibers[i].warp; }
        else if (s == DONE) done++;
    }
    char m[256];
    snprintf(m, sizeof m, "deadlock: %d threads wait at __syncthreads, %d at a warp barrier (shuffle / __syncwarp, first in warp %d), "
             "%d have exited; none can proceed", atBlock, atWarp, firstWarp, done);
    return m;
}

/** The current fiber stops running (it waits or has exited): hand the OS thread to the next ready fiber. */
void yield_next(Worker& w) {
    int me = w.current;
    for (int k = 1; k <= w.n; k++) {
        int j = me + k;
        if (j >= w.n) j -= w.n;
        if (w.fibers[j].state == READY) {
            if (j != me) switch_to(w, me, j);
            return;
        }
    }
    if (w.live == 0) {                         // the block is done: back to the scheduler
        w.switches++;
        ctx_swap(w.fibers[me].ctx, w.home);
        __builtin_unreachable();
    }
    fail_block(w, CODE_LAUNCH_FAILED, deadlock_message(w));
}

void release_block_barrier(Worker& w) {
    for (int i = 0; i < w.n; i++)
        if (w.fibers[i].state == WAIT_BLOCK) w.fibers[i].state = READY;
    w.blockArrived = 0;
    w.opResult = w.opAcc;
}

void block_barrier(Worker& w, int op, int predicate) {
    Fiber& f = w.fibers[w.current];
    if (w.blockArrived == 0) w.opAcc = op == 0 ? 0 : op == 1 ? 1 : 0;
    if (op == 0) w.opAcc += predicate != 0;
    else if (op == 1) w.opAcc = w.opAcc && predicate;
    else w.opAcc = w.opAcc || predicate;
    if (++w.blockArrived == w.live) {
        release_block_barrier(w);
        return;
    }
    f.state = WAIT_BLOCK;
    yield_next(w);
}

const char* lane_list(unsigned mask, char* buf, size_t cap) {
    size_t at = 0;
    buf[0] = 0;
    for (int l = 0; l < 32 && at + 4 < cap; l++)
        if (mask >> l & 1u) at += (size_t) snprintf(buf + at, cap - at, at ? ",%d" : "%d", l);
    return buf;
}

/** The warp barrier: waits for every existing lane in mask. */
void warp_barrier(Worker& w, unsigned mask, const char* what) {
    Fiber& f = w.fibers[w.current];
    Warp& wp = w.warps[f.warp];
    unsigned bit = 1u << f.lane, m = mask & wp.exists;
    char buf[160], lanes[100];
    if (!(m & bit)) {
        snprintf(buf, sizeof buf, "%s with mask 0x%08x that does not include the calling lane %d", what, mask, f.lane);
        fail_block(w, CODE_LAUNCH_FAILED, buf);
    }
    if (m & wp.exited) {
        snprintf(buf, sizeof buf, "%s (mask 0x%08x) in warp %d waits for lanes that have exited: %s", what, mask, f.warp,
                 lane_list(m & wp.exited, lanes, sizeof lanes));
        fail_block(w, CODE_LAUNCH_FAILED, buf);
    }
    if (wp.arrived == 0) {
        wp.waitMask = m;
    } else if (wp.waitMask != m) {
        snprintf(buf, sizeof buf, "%s in warp %d: lanes use different masks (0x%08x and 0x%08x)", what, f.warp, wp.waitMask, m);
        fail_block(w, CODE_LAUNCH_FAILED, buf);
    }
    wp.arrived |= bit;
    if (wp.arrived == wp.waitMask) {
        int base = f.warp * 32;
        for (unsigned r = wp.waitMask; r; r &= r - 1) {
            Fiber& o = w.fibers[base + __builtin_ctz(r)];
            if (o.state == WAIT_WARP) o.state = READY;
        }
        wp.arrived = 0;
        return;
    }
    f.state = WAIT_WARP;
    yield_next(w);
}

void fiber_exit(Worker& w) {
    Fiber& f = w.fibers[w.current];
    Warp& wp = w.warps[f.warp];
    f.state = DONE;
    w.live--;
    wp.exited |= 1u << f.lane;
    if (wp.arrived && (wp.waitMask & (1u << f.lane))) {
        char buf[160], lanes[100];
        snprintf(buf, sizeof buf, "lane %d of warp %d exited while lanes %s wait for it in a shuffle / __syncwarp", f.lane, f.warp,
                 lane_list(wp.arrived, lanes, sizeof lanes));
        fail_block(w, CODE_LAUNCH_FAILED, buf);
    }
    if (w.blockArrived > 0 && w.blockArrived == w.live) release_block_barrier(w);
    yield_next(w);
}

void fiber_entry() {
    Worker& w = *tls_worker;
    w.kernel->trampoline(w.kernel->fn, w.params);
    fiber_exit(w);
    __builtin_unreachable();
}

/** Runs one block to completion on this OS thread; false (and w.fail*) when it failed. */
bool run_block(Worker& w, const Kernel& k, void** params, uint3 blockIdx, dim3 blockDim, dim3 gridDim, unsigned sharedBytes) {
    sahara_emu_block.blockIdx = blockIdx;
    sahara_emu_block.blockDim = blockDim;
    sahara_emu_block.gridDim = gridDim;
    for (sahara_emu_dyn_shared d : k.dyn) memset(d(), 0xFF, sharedBytes);   // poison: unwritten floats read as NaN
    int n = (int) (blockDim.x * blockDim.y * blockDim.z);
    w.n = n;
    w.live = n;
    w.blockArrived = 0;
    w.kernel = &k;
    w.params = params;
    w.failed = false;
    int nw = (n + 31) / 32;
    for (int i = 0; i < nw; i++) {
        Warp& wp = w.warps[i];
        int lanes = std::min(32, n - i * 32);
        wp.exists = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1u;
        wp.exited = wp.waitMask = wp.arrived = 0;
    }
    for (int i = 0; i < n; i++) {
        Fiber& f = w.fibers[i];
        f.index = i;
        f.warp = i >> 5;
        f.lane = i & 31;
        f.tid = uint3{i % blockDim.x, i / blockDim.x % blockDim.y, i / (blockDim.x * blockDim.y)};
        f.state = READY;
        // stack tops staggered by 64-byte steps: tops 64 KiB apart would all fall into the same cache sets
        ctx_init(f.ctx, w.stacks + (size_t) i * STACK_BYTES, STACK_BYTES - (size_t) (i % 61) * 64 - (size_t) (i / 61 % 7) * 4096, fiber_entry);
    }
    w.current = 0;
    sahara_emu_tid = &w.fibers[0].tid;
    w.switches++;
    ctx_swap(w.home, w.fibers[0].ctx);
    sahara_emu_tid = nullptr;
    return !w.failed;
}

// ---- the worker pool ------------------------------------------------------------------------------------------------
class Pool {
public:
    static Pool& get() {
        static Pool* p = new Pool();   // never destroyed: its threads sleep until the process exits
        return *p;
    }
    int size() const { return (int) threads_.size(); }

    /** Calls body(worker) once on every worker thread and waits for all of them; one job at a time. */
    template <typename F> void run(F&& body) {
        std::lock_guard<std::mutex> one(runMutex_);
        std::function<void(int)> job = body;
        {
            std::unique_lock<std::mutex> l(m_);
            job_ = &job;
            pending_ = size();
            generation_++;
        }
        cv_.notify_all();
        std::unique_lock<std::mutex> l(m_);
        done_.wait(l, [&] { return pending_ == 0; });
        job_ = nullptr;
    }

private:
    Pool() {
        unsigned hw = std::thread::hardware_concurrency();
        int n = (int) std::max(1u, std::min(4u, hw ? hw : 1u));
        if (const char* e = getenv("SAHARA_EMU_WORKERS")) n = std::max(1, std::min(64, atoi(e)));
        for (int i = 0; i < n; i++) threads_.emplace_back([this, i] { loop(i); });
    }
    void loop(int index) {
        unsigned long long seen = 0;
        for (;;) {
            std::function<void(int)>* job;
            {
                std::unique_lock<std::mutex> l(m_);
                cv_.wait(l, [&] { return generation_ != seen; });
                seen = generation_;
                job = job_;
            }
            (*job)(index);
            std::lock_guard<std::mutex> l(m_);
            if (--pending_ == 0) done_.notify_all();
        }
    }
    std::vector<std::thread> threads_;
    std::mutex m_, runMutex_;
    std::condition_variable cv_, done_;
    std::function<void(int)>* job_ = nullptr;
    unsigned long long generation_ = 0;
    int pending_ = 0;
};

void write_err(char* err, int cap, const std::string& m) {
    if (err && cap > 0) snprintf(err, (size_t) cap, "%s", m.c_str());
}

}  // namespace

// ---- device-side entry points (cuda_emulation.h) ------------------------------------------------------------------
extern "C" {

void sahara_emu_register(const char* name, const char* family, sahara_emu_fn fn, sahara_emu_trampoline trampoline, int arity,
                         const sahara_emu_dyn_shared* dyn, int ndyn) {
    auto& r = registry();
    auto it = r.find(name);
    if (it != r.end()) {
        registry_errors().push_back(std::string("kernel ") + name + " is defined in both " + it->second.family + ".cu and " + family + ".cu");
        return;
    }
    r[name] = Kernel{name, family, fn, trampoline, arity, std::vector<sahara_emu_dyn_shared>(dyn, dyn + ndyn)};
}

SAHARA_EMU_HIDDEN void sahara_emu_register_broken(const char* family, const char* names, const char* error) {
    broken_families()[family] = {names, error};
}

void sahara_emu_syncthreads(void) { block_barrier(worker(), 0, 0); }

int sahara_emu_syncthreads_op(int op, int predicate) {
    Worker& w = worker();
    block_barrier(w, op, predicate);
    return w.opResult;
}

unsigned sahara_emu_lane(void) {
    Worker& w = worker();
    return (unsigned) w.fibers[w.current].lane;
}

void sahara_emu_syncwarp(unsigned mask) { warp_barrier(worker(), mask, "__syncwarp"); }

unsigned long long sahara_emu_shfl(unsigned mask, unsigned long long v, int src) {
    Worker& w = worker();
    Fiber& f = w.fibers[w.current];
    Warp& wp = w.warps[f.warp];
    wp.vals[f.lane] = v;                                  // publish
    warp_barrier(w, mask, "warp shuffle");
    unsigned participants = mask & wp.exists;
    unsigned long long r = src < 0 ? v : (src < 32 && (participants >> src & 1u)) ? wp.vals[src] : ~0ull;  // poison otherwise
    warp_barrier(w, mask, "warp shuffle");               // everyone has read before the next shuffle publishes
    return r;
}

unsigned sahara_emu_ballot(unsigned mask, int predicate) {
    Worker& w = worker();
    Fiber& f = w.fibers[w.current];
    Warp& wp = w.warps[f.warp];
    wp.vals[f.lane] = predicate != 0;
    warp_barrier(w, mask, "warp vote");
    unsigned participants = mask & wp.exists, r = 0;
    for (unsigned m = participants; m; m &= m - 1) {
        int l = __builtin_ctz(m);
        if (wp.vals[l]) r |= 1u << l;
    }
    warp_barrier(w, mask, "warp vote");
    return r;
}

void sahara_emu_fail(int code, const char* message) { fail_block(worker(), code, message); }

void sahara_emu_assert_fail(const char* expr, const char* file, int line) {
    const char* base = strrchr(file, '/');
    char m[512];
    snprintf(m, sizeof m, "device assert failed: %s (%s:%d)", expr, base ? base + 1 : file, line);
    fail_block(worker(), CODE_ASSERT, m);
}

// ---- the C ABI ------------------------------------------------------------------------------------------------------

SAHARA_EMU_EXPORT int sahara_emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                                        unsigned sharedBytes, void** params, char* err, int errCapacity) {
    char m[256];
    if (err && errCapacity > 0) err[0] = 0;
    if (!registry_errors().empty()) {
        write_err(err, errCapacity, registry_errors()[0]);
        return CODE_INVALID;
    }
    if (!name) { write_err(err, errCapacity, "kernel name is NULL"); return CODE_INVALID; }
    auto it = registry().find(name);
    if (it == registry().end()) {
        std::string why = std::string("no kernel named '") + name + "' in the emulated kernels/*.cu";
        for (auto& b : broken_families()) {
            std::string names = "," + b.second.first + ",";
            if (names.find(std::string(",") + name + ",") != std::string::npos)
                why = std::string(name) + ": kernels/" + b.first + ".cu did not compile for the emulation: " + b.second.second;
            else
                why += std::string(" (kernels/") + b.first + ".cu did not compile for the emulation)";
        }
        write_err(err, errCapacity, why);
        return CODE_NOT_FOUND;
    }
    const Kernel& k = it->second;
    const char* bad = nullptr;
    unsigned long long threads = (unsigned long long) bx * by * bz;
    if (gx < 1) snprintf(m, sizeof m, "gridDim.x %u < 1", gx), bad = m;
    else if (gy < 1) snprintf(m, sizeof m, "gridDim.y %u < 1", gy), bad = m;
    else if (gz < 1) snprintf(m, sizeof m, "gridDim.z %u < 1", gz), bad = m;
    else if (gx > 2147483647u) snprintf(m, sizeof m, "gridDim.x %u > 2147483647", gx), bad = m;
    else if (gy > 65535u) snprintf(m, sizeof m, "gridDim.y %u > 65535", gy), bad = m;
    else if (gz > 65535u) snprintf(m, sizeof m, "gridDim.z %u > 65535", gz), bad = m;
    else if (bx < 1) snprintf(m, sizeof m, "blockDim.x %u < 1", bx), bad = m;
    else if (by < 1) snprintf(m, sizeof m, "blockDim.y %u < 1", by), bad = m;
    else if (bz < 1) snprintf(m, sizeof m, "blockDim.z %u < 1", bz), bad = m;
    else if (bx > 1024u) snprintf(m, sizeof m, "blockDim.x %u > 1024", bx), bad = m;
    else if (by > 1024u) snprintf(m, sizeof m, "blockDim.y %u > 1024", by), bad = m;
    else if (bz > 64u) snprintf(m, sizeof m, "blockDim.z %u > 64", bz), bad = m;
    else if (threads > 1024u) snprintf(m, sizeof m, "blockDim %ux%ux%u = %llu threads > 1024", bx, by, bz, threads), bad = m;
    else if (sharedBytes > SAHARA_EMU_MAX_DYNAMIC_SHARED)
        snprintf(m, sizeof m, "dynamic shared memory %u bytes > %d", sharedBytes, SAHARA_EMU_MAX_DYNAMIC_SHARED), bad = m;
    else if (k.arity > 0 && !params) snprintf(m, sizeof m, "kernelParams is NULL for %s, which takes %d arguments", name, k.arity), bad = m;
    else
        for (int i = 0; i < k.arity; i++)
            if (!params[i]) { snprintf(m, sizeof m, "kernelParams[%d] of %s is NULL", i, name); bad = m; break; }
    if (bad) {
        write_err(err, errCapacity, std::string(name) + ": invalid launch: " + bad);
        return CODE_INVALID;
    }

    unsigned long long blocks = (unsigned long long) gx * gy * gz;
    std::atomic<unsigned long long> next{0};
    std::atomic<bool> failed{false};
    std::mutex failMutex;
    int failCode = 0;
    std::string failMessage;
    dim3 grid(gx, gy, gz), block(bx, by, bz);
    Pool::get().run([&](int) {
        if (!tls_worker) tls_worker = new Worker();   // per OS worker thread, kept for the process
        Worker& w = *tls_worker;
        for (sahara_emu_dyn_shared d : k.dyn) memset(d(), 0xFF, SAHARA_EMU_MAX_DYNAMIC_SHARED);
        unsigned long long before = w.switches;
        while (!failed.load(std::memory_order_relaxed)) {
            unsigned long long b = next.fetch_add(1);
            if (b >= blocks) break;
            uint3 bi{(unsigned) (b % gx), (unsigned) (b / gx % gy), (unsigned) (b / ((unsigned long long) gx * gy))};
            if (!run_block(w, k, params, bi, block, grid, sharedBytes)) {
                std::lock_guard<std::mutex> l(failMutex);
                if (!failed.exchange(true)) {
                    failCode = w.failCode;
                    failMessage = w.failMessage;
                }
                break;
            }
        }
        total_switches += w.switches - before;
    });
    if (failed) {
        write_err(err, errCapacity, std::string(name) + ": " + failMessage);
        return failCode;
    }
    return 0;
}

SAHARA_EMU_EXPORT int sahara_emu_kernels(char* out, int capacity) {
    std::string all;
    for (auto& e : registry()) {
        if (!all.empty()) all += ',';
        all += e.first;
    }
    if (out && capacity > 0) snprintf(out, (size_t) capacity, "%s", all.c_str());
    return (int) registry().size();
}

SAHARA_EMU_EXPORT void* sahara_emu_malloc(size_t bytes) {
    size_t size = (std::max<size_t>(bytes, 1) + 255) & ~size_t(255);
    void* p = aligned_alloc(256, size);
    if (p) memset(p, 0xFF, size);
    return p;
}

SAHARA_EMU_EXPORT void sahara_emu_free(void* p) { free(p); }

/** Fiber switches since the library was loaded (a diagnostic for the self-check; not part of the Java ABI). */
SAHARA_EMU_EXPORT unsigned long long sahara_emu_switch_count(void) { return total_switches.load(); }

/** Runs body(ctx, i) for i in [0, n) on the worker pool (cuBLAS / cuSOLVER stand-ins). */
SAHARA_EMU_HIDDEN void sahara_emu_parallel_for(long n, void (*body)(void*, long), void* ctx) {
    if (n <= 0) return;
    if (n == 1) { body(ctx, 0); return; }
    std::atomic<long> next{0};
    Pool::get().run([&](int) {
        for (long i; (i = next.fetch_add(1)) < n;) body(ctx, i);
    });
}

}  // extern "C"
