package dev.sahara.llama;

import dev.sahara.backend.Backend;
import dev.sahara.backend.Tensor;

/**
 * Keys and values after RoPE and ablation, per layer: (rows, n_kv_heads · head_dim). A prefill that is not
 * continued (Ships, Sahara) needs no history, so all layers share one scratch pair.
 */
public final class KvCache {
    private final Tensor[] k, v;

    private KvCache(Tensor[] k, Tensor[] v) {
        this.k = k;
        this.v = v;
    }

    /** One pair reused by every layer: for a forward that is never continued. */
    public static KvCache scratch(Backend b, int rows, int kvDim) {
        Tensor k = b.allocate(rows, kvDim), v = b.allocate(rows, kvDim);
        return new KvCache(new Tensor[] {k}, new Tensor[] {v});
    }

    /** A real cache for decoding: {@code rows} = total capacity of all sequences. */
    public static KvCache perLayer(Backend b, int layers, int rows, int kvDim) {
        Tensor[] k = new Tensor[layers], v = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            k[l] = b.allocate(rows, kvDim);
            v[l] = b.allocate(rows, kvDim);
        }
        return new KvCache(k, v);
    }

    public Tensor k(int layer) { return k[k.length == 1 ? 0 : layer]; }

    public Tensor v(int layer) { return v[v.length == 1 ? 0 : layer]; }
}
