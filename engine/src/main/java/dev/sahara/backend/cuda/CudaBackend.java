package dev.sahara.backend.cuda;

import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadEdit;
import dev.sahara.backend.AttentionLayout;
import dev.sahara.backend.Backend;
import dev.sahara.backend.RopeTable;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.Weight;
import dev.sahara.model.DType;
import dev.sahara.model.TensorData;
import jcuda.CudaException;

import java.lang.foreign.MemorySegment;

/**
 * The CUDA backend: float32 activations in device memory, weights uploaded once in their checkpoint dtype,
 * the hand-written kernels of kernels/*.cu, and the matmuls in cuBLAS (FFM) in plain FP32 (a bf16 / f16 weight is
 * widened to float32 into a scratch buffer first, so the product sees exactly the numbers the CPU backend sees).
 * It talks to the GPU only through {@link GpuDevice}: {@link CudaDevice} (JCuda's driver API) on a real GPU, and an
 * emulation of the same kernels on the CPU in the tests. Everything runs in order on one stream; {@link #download}
 * waits for it. Per-call index arrays (tokens, rows, positions, head edits) go through a pinned staging ring with
 * asynchronous copies ({@link Staging}); RoPE's cos / sin tables stay on the device ({@link DeviceRopeTable}). Rows
 * always go in grid x (up to 2³¹ − 1), never in grid y (65,535), and an op on zero rows launches nothing.
 *
 * <pre>
 * Backend op      kernel (kernels/)              reference
 * embed           embed_{dtype}      embedding.cu  ReferenceBackend.embed
 * rmsNorm         rmsnorm_{dtype}    rmsnorm.cu    ReferenceBackend.rmsNorm
 * matmul          widen_{dtype} + cublasGemmEx + bias_{dtype} (weights.cu)          --precision f32 (default)
 *                 narrow_{bf16|f16} of x + cublasGemmEx 16-bit in, f32 out            --precision bf16
 * rope            rope               rope.cu       (cos / sin tables per position, on the device, rounded as the CPU rounds them)
 * editHeads       edit_heads         heads.cu
 * attention       attention          attention.cu  (one block per row × head, online softmax)
 * swiglu / add    swiglu / add       swiglu.cu, residual.cu
 * projectOut      project_out        direction.cu  (dot product in double, a block per row)
 * addRow          add_row            direction.cu
 * gather/scatter  gather_rows / scatter_rows  rows.cu
 * copy            cuMemcpyDtoDAsync
 * topK            top_k              sampling.cu   TopK.select (a pass over the row per rank)
 * klDivergence    kl_divergence      divergence.cu Divergence.kl (double; NaN when a logit is not finite)
 * </pre>
 */
public final class CudaBackend implements Backend {
    /**
     * What the matmuls multiply. F32: float32 activations times the weights widened to float32, plain FP32 GEMM
     * (no TF32): the CPU backend's numbers. BF16: the activations are rounded to the weight's 16-bit type (bf16 for
     * bf16 checkpoints, f16 for f16 ones; cuBLAS needs both inputs of one type) and multiplied with the weights as
     * stored, tensor cores with FP32 accumulation, float32 out; f32 weights stay on the F32 path. Everything else
     * (norms, RoPE, attention, residual stream) stays float32 in both.
     */
    public enum Precision {
        F32("float32 activations, weights in checkpoint dtype"),
        BF16("float32 activations rounded to the weights' 16-bit type (bf16 / f16) at each matmul input, tensor-core GEMMs with FP32 accumulation");

        public final String description;

        Precision(String description) { this.description = description; }

        /** f32 or bf16 (the --precision values). */
        public static Precision parse(String s) {
            return switch (s) {
                case "f32", "float32", "fp32" -> F32;
                case "bf16", "bfloat16" -> BF16;
                default -> throw new SaharaException("--precision must be f32 or bf16, got '" + s + "'");
            };
        }
    }

    private static final int THREADS = 256;
    /** CUDA's limit on gridDim.y (and z); rows always go in grid x (limit 2³¹ − 1), column blocks in y. */
    static final int MAX_GRID_Y = 65535;
    /** Set once JCuda's native side failed to load: it cannot be retried in this JVM. */
    private static volatile String driverMissing;

    private final GpuDevice dev;
    private final DeviceMemory mem;
    private final Cublas blas;
    private final Staging staging;
    private Cusolver solver;
    private DeviceMemory.Block widened, narrowed;
    private DeviceRopeTable ropeTable;
    private boolean closed;
    private volatile Precision precision = Precision.F32;

    /** The backend over {@code dev}, which it owns from now on (closing the backend closes it, also when this throws). */
    CudaBackend(GpuDevice dev) {
        this.dev = dev;
        try {
            dev.makeCurrent();
            this.mem = new DeviceMemory(dev);
            this.blas = dev.openBlas();
            this.staging = new Staging();
        } catch (RuntimeException | Error e) {
            dev.close();
            throw e;
        }
    }

    /**
     * Opens device 0.
     *
     * @throws SaharaException with one line saying why there is no usable CUDA backend
     */
    public static CudaBackend open() { return open(Precision.F32); }

    /** Opens device 0 with the given matmul precision; see {@link #open()}. */
    public static CudaBackend open(Precision precision) {
        CudaBackend b = openDevice();
        b.precision = precision;
        return b;
    }

    private static CudaBackend openDevice() {
        if (driverMissing != null) throw new SaharaException(driverMissing);
        CudaDevice dev;
        try {
            dev = new CudaDevice(0);
        } catch (LinkageError e) {
            // UnsatisfiedLinkError the first time; JCuda's driver class then stays unusable (NoClassDefFoundError)
            driverMissing = "no CUDA GPU: the CUDA driver library (libcuda.so.1) could not be loaded" + firstLine(e);
            throw new SaharaException(driverMissing);
        } catch (CudaException e) {
            throw new SaharaException("no CUDA GPU: " + firstLine(e).substring(2));
        }
        try {
            return new CudaBackend(dev);
        } catch (IllegalStateException | CudaException e) {
            throw new SaharaException("CUDA GPU " + dev.name() + " found but cuBLAS is unusable: " + e.getMessage());
        }
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage()).strip();
        int nl = m.indexOf('\n');
        return " (" + (nl < 0 ? m : m.substring(0, nl)).strip() + ")";
    }

    @Override
    public String name() { return "cuda"; }

    /** The device, compute capability, kernel image and cuBLAS library, for logs and result files. */
    public String description() { return dev.description() + ", " + blas.library(); }

    public Precision precision() { return precision; }

    /** Switches the matmul precision for later calls (the weights are the same in both; timing runs compare them). */
    public void setPrecision(Precision p) { this.precision = java.util.Objects.requireNonNull(p); }

    @Override
    public Tensor allocate(int rows, int cols) {
        dev.makeCurrent();
        long n = (long) rows * cols;
        DeviceMemory.Block b = mem.take(n * Float.BYTES);
        dev.fill32(b.address(), 0, n);
        CudaTensor t = new CudaTensor(b, rows, cols);
        mem.returnWhenUnreachable(t, b);
        return t;
    }

    @Override
    public Weight weight(TensorData t) {
        dev.makeCurrent();
        long bytes = t.elementCount() * t.dtype().bytes;
        DeviceMemory.Block b = mem.permanent(bytes);
        MemorySegment src = t.data();
        final long chunk = 1L << 30;
        for (long off = 0; off < bytes; off += chunk) {
            long len = Math.min(chunk, bytes - off);
            dev.copyToDevice(b.address() + off, src.asSlice(off, len), len);
        }
        return new CudaWeight(b.address(), t.dtype(), t.rows(), t.cols());
    }

    @Override
    public void upload(Tensor dst, float[] src) {
        CudaTensor d = t(dst);
        if (src.length != (long) d.rows() * d.cols()) throw new IllegalArgumentException("upload of " + src.length + " floats into " + d.rows() + "x" + d.cols());
        dev.copyToDevice(d.address(), MemorySegment.ofArray(src), d.bytes());
    }

    @Override
    public void download(Tensor src, float[] dst) {
        CudaTensor s = t(src);
        if (dst.length < (long) s.rows() * s.cols()) throw new IllegalArgumentException("download: " + dst.length + " floats for a " + s.rows() + "x" + s.cols() + " tensor");
        dev.copyToHost(MemorySegment.ofArray(dst), s.address(), s.bytes());
    }

    @Override
    public void embed(Tensor out, Weight table, int[] tokens) {
        CudaWeight w = (CudaWeight) table;
        for (int id : tokens) if (id < 0 || id >= w.rows()) throw new IllegalArgumentException("token " + id + " outside the table's " + w.rows() + " rows");
        if (tokens.length == 0) return;
        long ids = staging.put(tokens);
        dev.launch("embed_" + KernelNames.suffix(w.dtype()), tokens.length, columnBlocks(w.cols()), THREADS, 0,
                new KernelArgs().ptr(t(out).address()).ptr(w.address()).ptr(ids).i32(w.cols()));
    }

    @Override
    public void rmsNorm(Tensor out, Tensor x, Weight gamma, float eps) {
        if (x.rows() == 0) return;
        CudaWeight g = (CudaWeight) gamma;
        dev.launch("rmsnorm_" + KernelNames.suffix(g.dtype()), x.rows(), 1, THREADS, 0,
                new KernelArgs().ptr(t(out).address()).ptr(t(x).address()).ptr(g.address()).i32(x.cols()).f32(eps));
    }

    @Override
    public void matmul(Tensor out, Tensor x, Weight weight, Weight bias) {
        CudaWeight w = (CudaWeight) weight;
        int tokens = x.rows(), k = x.cols(), n = w.rows();
        if (w.cols() != k || out.rows() != tokens || out.cols() != n) {
            throw new IllegalArgumentException("matmul shapes: out " + out.rows() + "x" + out.cols() + ", x " + tokens + "x" + k + ", w " + n + "x" + w.cols());
        }
        if (tokens == 0) return;
        dev.makeCurrent();
        if (precision == Precision.BF16 && w.dtype() != DType.F32) {
            long count = (long) tokens * k;
            long x16 = narrowScratch(count * 2);
            dev.launch("narrow_" + KernelNames.suffix(w.dtype()), gridStride(count), 1, THREADS, 0,
                    new KernelArgs().ptr(x16).ptr(t(x).address()).i64(count));
            blas.matmulRowMajorWt16(t(out).address(), x16, w.address(), w.dtype() == DType.BF16 ? Cublas.CUDA_R_16BF : Cublas.CUDA_R_16F, tokens, k, n);
        } else {
            long a = w.address();
            if (w.dtype() != DType.F32) {
                long count = (long) n * k;
                long scratch = widenScratch(count * Float.BYTES);
                dev.launch("widen_" + KernelNames.suffix(w.dtype()), gridStride(count), 1, THREADS, 0,
                        new KernelArgs().ptr(scratch).ptr(a).i64(count));
                a = scratch;
            }
            blas.matmulRowMajorWt(t(out).address(), t(x).address(), a, tokens, k, n);
        }
        if (bias != null) {
            CudaWeight b = (CudaWeight) bias;
            dev.launch("bias_" + KernelNames.suffix(b.dtype()), tokens, columnBlocks(n), THREADS, 0,
                    new KernelArgs().ptr(t(out).address()).ptr(b.address()).i32(n));
        }
    }

    /** {@link RopeTable}'s cos / sin on the device, two (positions, half) float32 arrays; a call uploads only its rows' positions. */
    private record DeviceRopeTable(RopeTable host, DeviceMemory.Block cos, DeviceMemory.Block sin) {}

    private DeviceRopeTable ropeTable(double[] invFreq, int positions) {
        DeviceRopeTable r = ropeTable;
        RopeTable host = RopeTable.covering(r == null ? null : r.host, invFreq, positions);
        if (r != null && r.host == host) return r;
        DeviceMemory.Block c = mem.permanent((long) host.cos().length * Float.BYTES), s = mem.permanent((long) host.sin().length * Float.BYTES);
        dev.copyToDevice(c.address(), MemorySegment.ofArray(host.cos()), c.bytes());
        dev.copyToDevice(s.address(), MemorySegment.ofArray(host.sin()), s.bytes());
        if (r != null) {
            dev.synchronize();                      // earlier rope launches may still read the old tables
            mem.release(r.cos);
            mem.release(r.sin);
        }
        return ropeTable = new DeviceRopeTable(host, c, s);
    }

    @Override
    public void rope(Tensor x, int heads, int headDim, int[] positions, double[] invFreq) {
        int half = headDim / 2, rows = x.rows();
        if (rows == 0) return;
        if (invFreq.length != half) throw new IllegalArgumentException("rope: " + invFreq.length + " frequencies for head_dim " + headDim);
        int maxPos = 0;
        for (int p : positions) {
            if (p < 0) throw new IllegalArgumentException("rope: negative position " + p);
            maxPos = Math.max(maxPos, p);
        }
        DeviceRopeTable table = ropeTable(invFreq, maxPos + 1);
        long pos = staging.put(positions);
        dev.launch("rope", rows, columnBlocks((long) heads * half), THREADS, 0, new KernelArgs().ptr(t(x).address()).ptr(table.cos.address())
                .ptr(table.sin.address()).ptr(pos).i32(heads).i32(headDim).i32(x.cols()));
    }

    @Override
    public void editHeads(Tensor x, int headDim, HeadEdit edit) {
        if (edit.isIdentity() || x.rows() == 0) return;
        int heads = edit.heads();
        int[] packed = new int[2 * heads];          // scale[heads] as float bits, then mean flags
        for (int h = 0; h < heads; h++) {
            packed[h] = Float.floatToRawIntBits(edit.scale()[h]);
            packed[heads + h] = edit.mean()[h] ? 1 : 0;
        }
        long base = staging.put(packed);
        dev.launch("edit_heads", x.rows(), 1, THREADS, headDim * Float.BYTES, new KernelArgs().ptr(t(x).address()).ptr(base)
                .ptr(base + (long) heads * Float.BYTES).i32(edit.anyMean() ? 1 : 0).i32(heads).i32(headDim).i32(x.cols()));
    }

    @Override
    public void scatterRows(Tensor dst, int[] dstRows, Tensor src) {
        if (dstRows.length == 0) return;
        checkRows(dstRows, dst.rows());
        long rows = staging.put(dstRows);
        dev.launch("scatter_rows", dstRows.length, columnBlocks(src.cols()), THREADS, 0,
                new KernelArgs().ptr(t(dst).address()).ptr(t(src).address()).ptr(rows).i32(src.cols()));
    }

    @Override
    public void gatherRows(Tensor out, Tensor x, int[] rows) {
        if (rows.length == 0) return;
        checkRows(rows, x.rows());
        long r = staging.put(rows);
        dev.launch("gather_rows", rows.length, columnBlocks(x.cols()), THREADS, 0,
                new KernelArgs().ptr(t(out).address()).ptr(t(x).address()).ptr(r).i32(x.cols()));
    }

    /** Threads per attention block; must equal TILE in kernels/attention.cu. */
    static final int ATTENTION_TILE = 128, ATTENTION_MAX_PER_THREAD = 4;

    @Override
    public void attention(Tensor out, Tensor q, Tensor kCache, Tensor vCache, AttentionLayout layout, int heads, int kvHeads, int headDim) {
        if (headDim > ATTENTION_TILE * ATTENTION_MAX_PER_THREAD) throw new SaharaException("the CUDA attention kernel supports head_dim up to 512, got " + headDim);
        int rows = layout.rows();
        if (rows == 0) return;
        int[] meta = new int[2 * rows];             // (2, rows): position, then cache row of position 0
        for (int s = 0; s < layout.sequences(); s++) {
            for (int i = 0; i < layout.newTokens()[s]; i++) {
                int row = layout.rowStart()[s] + i;
                meta[row] = layout.pastLen()[s] + i;
                meta[rows + row] = layout.cacheStart()[s];
                if (layout.cacheStart()[s] + meta[row] >= kCache.rows()) throw new IllegalArgumentException("attention: cache row past the cache's " + kCache.rows() + " rows");
            }
        }
        long base = staging.put(meta);
        float scale = (float) (1.0 / StrictMath.sqrt(headDim));
        dev.launch("attention", Math.multiplyExact(rows, heads), 1, ATTENTION_TILE, (headDim + ATTENTION_TILE) * Float.BYTES,
                new KernelArgs().ptr(t(out).address()).ptr(t(q).address()).ptr(t(kCache).address()).ptr(t(vCache).address())
                        .ptr(base).ptr(base + (long) rows * Integer.BYTES).i32(heads).i32(kvHeads).i32(headDim).i32(q.cols()).i32(kCache.cols()).f32(scale));
    }

    @Override
    public void swiglu(Tensor gate, Tensor up) {
        long n = (long) gate.rows() * gate.cols();
        if (n == 0) return;
        dev.launch("swiglu", gridStride(n), 1, THREADS, 0, new KernelArgs().ptr(t(gate).address()).ptr(t(up).address()).i64(n));
    }

    /** kernels/sampling.cu: only (rows, k) ids and logits and a flag per row come back to the host. */
    @Override
    public boolean topK(Tensor logits, int k, int[] ids, float[] values) {
        int rows = logits.rows(), n = logits.cols();
        if (k < 1 || k > n) throw new IllegalArgumentException("top " + k + " of " + n);
        if (rows == 0) return true;
        Tensor topIds = allocate(rows, k), topValues = allocate(rows, k), finite = allocate(rows, 1);   // int32 in float-sized slots
        dev.launch("top_k", rows, 1, THREADS, 0, new KernelArgs().ptr(t(logits).address()).i32(n).i32(k)
                .ptr(t(topIds).address()).ptr(t(topValues).address()).ptr(t(finite).address()));
        download(topValues, values);
        float[] idBits = download(topIds), flags = download(finite);
        for (int i = 0; i < rows * k; i++) ids[i] = Float.floatToRawIntBits(idBits[i]);
        boolean all = true;
        for (float f : flags) all &= Float.floatToRawIntBits(f) == 1;
        return all;
    }

    /** kernels/divergence.cu: one float64 per row comes back. */
    @Override
    public void klDivergence(Tensor p, Tensor q, boolean official, double[] out) {
        int rows = p.rows(), n = p.cols();
        Backend.checkSameShape(p, q);
        if (rows == 0) return;
        Tensor result = allocate(rows, 2);   // a float64 per row, in two float32 slots
        dev.launch("kl_divergence", rows, 1, THREADS, 0, new KernelArgs().ptr(t(p).address()).ptr(t(q).address()).i32(n).i32(official ? 1 : 0)
                .ptr(t(result).address()));
        float[] words = download(result);
        for (int r = 0; r < rows; r++) {
            long low = Float.floatToRawIntBits(words[2 * r]) & 0xffffffffL, high = Float.floatToRawIntBits(words[2 * r + 1]);
            out[r] = Double.longBitsToDouble(high << 32 | low);   // little-endian: the low word first
        }
    }

    @Override
    public void add(Tensor x, Tensor y) {
        long n = (long) x.rows() * x.cols();
        if (n == 0) return;
        dev.launch("add", gridStride(n), 1, THREADS, 0, new KernelArgs().ptr(t(x).address()).ptr(t(y).address()).i64(n));
    }

    @Override
    public void projectOut(Tensor x, Tensor unit) {
        Backend.checkRow(x, unit);
        if (x.rows() == 0) return;
        dev.launch("project_out", x.rows(), 1, THREADS, 0, new KernelArgs().ptr(t(x).address()).ptr(t(unit).address()).i32(x.cols()));
    }

    @Override
    public void addRow(Tensor x, Tensor row) {
        Backend.checkRow(x, row);
        if (x.rows() == 0) return;
        dev.launch("add_row", x.rows(), columnBlocks(x.cols()), THREADS, 0, new KernelArgs().ptr(t(x).address()).ptr(t(row).address()).i32(x.cols()));
    }

    @Override
    public void copy(Tensor dst, Tensor src) { dev.copy(t(dst).address(), t(src).address(), t(src).bytes()); }

    /** Eigen-decomposition of a symmetric matrix (cuSOLVER syevd, double). */
    public record Eigen(double[] values, double[][] vectors) {}

    /**
     * Eigenvalues (ascending) and unit eigenvectors ({@code vectors[j]} belongs to {@code values[j]}) of the
     * symmetric n×n row-major matrix {@code a} (only its lower triangle is read).
     */
    public Eigen symmetricEigen(double[] a, int n) {
        dev.makeCurrent();
        if (a.length != (long) n * n) throw new IllegalArgumentException("symmetricEigen: " + a.length + " values for n = " + n);
        if (solver == null) solver = dev.openSolver();
        DeviceMemory.Block da = mem.permanent((long) n * n * Double.BYTES), dw = mem.permanent((long) n * Double.BYTES), info = mem.permanent(Integer.BYTES);
        DeviceMemory.Block work = null;
        try {
            // Row-major a is the transpose in cuSOLVER's column-major view: the same symmetric matrix, upper ↔ lower.
            double[] colMajor = new double[a.length];
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) colMajor[j * n + i] = a[i * n + j];
            dev.copyToDevice(da.address(), MemorySegment.ofArray(colMajor), (long) a.length * Double.BYTES);
            int lwork = solver.workspace(n, da.address(), dw.address());
            work = mem.permanent(Math.max(1L, lwork) * Double.BYTES);
            solver.syevd(n, da.address(), dw.address(), work.address(), lwork, info.address());
            int[] status = {0};
            dev.copyToHost(MemorySegment.ofArray(status), info.address(), Integer.BYTES);
            if (status[0] != 0) throw new SaharaException("cusolverDnDsyevd: devInfo = " + status[0] + (status[0] > 0 ? " (did not converge)" : " (bad argument)"));
            double[] values = new double[n], vecs = new double[n * n];
            dev.copyToHost(MemorySegment.ofArray(values), dw.address(), (long) n * Double.BYTES);
            dev.copyToHost(MemorySegment.ofArray(vecs), da.address(), (long) n * n * Double.BYTES);
            double[][] vectors = new double[n][];
            for (int j = 0; j < n; j++) vectors[j] = java.util.Arrays.copyOfRange(vecs, j * n, (j + 1) * n);   // column j, contiguous
            return new Eigen(values, vectors);
        } finally {
            dev.synchronize();
            mem.release(da);
            mem.release(dw);
            mem.release(info);
            if (work != null) mem.release(work);
        }
    }

    /** Bytes of device memory this backend holds (weights, scratch and pooled activations). */
    public long deviceBytes() { return mem.allocatedBytes(); }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            dev.makeCurrent();
            dev.synchronize();
            blas.close();
            if (solver != null) solver.close();
            staging.close();
            mem.close();
        } finally {
            dev.close();
        }
    }

    // ---- helpers

    /**
     * Per-call index arrays (token ids, rows, positions, head edits, attention metadata) on their way to the device:
     * a ring of pinned host memory mirrored by a device buffer at the same offsets, copied asynchronously in stream
     * order, so a forward never waits for the GPU to upload them. A region is reused only after the ring wraps, and
     * wrapping first waits for the stream, so no copy or kernel can still be reading it.
     */
    private final class Staging implements AutoCloseable {
        private static final long ALIGN = 256;
        private MemorySegment host;
        private DeviceMemory.Block device;
        private long next;

        Staging() { grow(4L << 20); }

        private void grow(long capacity) {
            if (host != null) {
                dev.synchronize();
                dev.freePinned(host);
                mem.release(device);
            }
            host = dev.allocatePinned(capacity);
            device = mem.permanent(capacity);
            next = 0;
        }

        long put(int[] data) {
            long bytes = (long) data.length * Integer.BYTES, need = (Math.max(bytes, 1) + ALIGN - 1) / ALIGN * ALIGN;
            if (need > device.bytes()) {
                grow(Math.max(2 * device.bytes(), need));
            } else if (next + need > device.bytes()) {
                dev.synchronize();
                next = 0;
            }
            MemorySegment region = host.asSlice(next, bytes);
            MemorySegment.copy(MemorySegment.ofArray(data), 0, region, 0, bytes);
            long at = device.address() + next;
            dev.copyToDeviceAsync(at, region, bytes);
            next += need;
            return at;
        }

        @Override
        public void close() { dev.freePinned(host); }
    }

    /** Stages {@code data} as an op would; its device address (for the tests of the ring). */
    long stage(int[] data) { return staging.put(data); }

    private long widenScratch(long bytes) { return (widened = atLeast(widened, bytes)).address(); }

    private long narrowScratch(long bytes) { return (narrowed = atLeast(narrowed, bytes)).address(); }

    /** {@code scratch} when it holds {@code bytes}; else a larger permanent block replacing it (freed once the stream is idle). */
    private DeviceMemory.Block atLeast(DeviceMemory.Block scratch, long bytes) {
        if (scratch != null && scratch.bytes() >= bytes) return scratch;
        if (scratch != null) {
            dev.synchronize();
            mem.release(scratch);
        }
        return mem.permanent(bytes);
    }

    /** A measured dense GEMM rate: the median of timed samples, each {@code inner} back-to-back products. */
    public record GemmRate(String what, int m, int n, int k, double medianMs, double tflops) {}

    /**
     * Times cublasGemmEx on an m×n×k product (the model's layout: A transposed, k contiguous) with random inputs of
     * cudaDataType {@code inType} (Cublas.CUDA_R_16BF / _16F / _32F), output of {@code outType}, FP32 accumulation:
     * 3 warm-up samples, then the median over {@code samples} samples of {@code inner} products each.
     */
    GemmRate measureGemm(String what, int inType, int outType, int m, int n, int k, int samples, int inner) {
        dev.makeCurrent();
        int inBytes = inType == Cublas.CUDA_R_32F ? 4 : 2, outBytes = outType == Cublas.CUDA_R_32F ? 4 : 2;
        DeviceMemory.Block a = mem.permanent((long) m * k * inBytes), b = mem.permanent((long) k * n * inBytes), c = mem.permanent((long) m * n * outBytes);
        try {
            java.util.SplittableRandom r = new java.util.SplittableRandom(42);
            for (DeviceMemory.Block blk : new DeviceMemory.Block[] {a, b}) {
                int count = Math.toIntExact(blk.bytes() / inBytes);
                if (inBytes == 4) {
                    float[] f = new float[count];
                    for (int i = 0; i < count; i++) f[i] = (float) (r.nextDouble() * 2 - 1);
                    dev.copyToDevice(blk.address(), MemorySegment.ofArray(f), blk.bytes());
                } else {
                    short[] h = new short[count];
                    for (int i = 0; i < count; i++) {
                        float v = (float) (r.nextDouble() * 2 - 1);
                        h[i] = inType == Cublas.CUDA_R_16BF ? (short) (Float.floatToIntBits(v) >>> 16) : Float.floatToFloat16(v);
                    }
                    dev.copyToDevice(blk.address(), MemorySegment.ofArray(h), blk.bytes());
                }
            }
            double[] ms = new double[samples];
            for (int s = -3; s < samples; s++) {
                dev.synchronize();
                long t0 = System.nanoTime();
                for (int i = 0; i < inner; i++) {
                    blas.gemmEx(Cublas.OP_T, Cublas.OP_N, m, n, k, a.address(), inType, k, b.address(), inType, k, c.address(), outType, m);
                }
                dev.synchronize();
                if (s >= 0) ms[s] = (System.nanoTime() - t0) / 1e6 / inner;
            }
            java.util.Arrays.sort(ms);
            double median = samples % 2 == 1 ? ms[samples / 2] : (ms[samples / 2 - 1] + ms[samples / 2]) / 2;
            return new GemmRate(what, m, n, k, median, 2.0 * m * n * k / (median / 1e3) / 1e12);
        } finally {
            mem.release(a);
            mem.release(b);
            mem.release(c);
        }
    }

    private static void checkRows(int[] rows, int limit) {
        for (int r : rows) if (r < 0 || r >= limit) throw new IllegalArgumentException("row " + r + " outside 0.." + (limit - 1));
    }

    /** Blocks of THREADS covering n columns, for grid y: CUDA allows at most 65,535 there. */
    private static int columnBlocks(long n) {
        long b = Math.max(1, (n + THREADS - 1) / THREADS);
        if (b > MAX_GRID_Y) throw new SaharaException("the CUDA backend supports rows of up to " + (long) MAX_GRID_Y * THREADS + " columns, got " + n);
        return (int) b;
    }

    private static int gridStride(long n) { return (int) Math.min(Math.max(1, (n + THREADS - 1) / THREADS), 65535L * 8); }

    private static CudaTensor t(Tensor x) { return (CudaTensor) x; }
}
