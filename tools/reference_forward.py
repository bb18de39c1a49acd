#!/usr/bin/env python3
"""Plain numpy float64 forward pass for a Hugging Face-layout Llama-family folder (Llama, Mistral,
Qwen2), with the head ablations of docs/SPEC.md. Needs only python3 + numpy.

    python3 tools/reference_forward.py MODEL_DIR --ids 1 403 407 261 378 [--greedy 60]
        [--ablate L:H:MODE:EPS ...] [--json OUT.json]

Reads model.safetensors or model.safetensors.index.json shards (F32 / F16 / BF16), config.json
(head_dim, GQA, tie_word_embeddings, rope_theta, rope_scaling "llama3" / "linear", q/k/v biases,
rms_norm_eps). Everything is computed in float64 from the stored values.

Ablation modes, for query head H of layer L (scores s = q.k^T / sqrt(d_head) plus the causal mask):
  undiff-q  the head's query (after RoPE) times eps  (= its scores times eps; eps 0 -> uniform causal)
  undiff-k  the key of the KV head that query head H reads (H // (n_heads / n_kv_heads)) times eps
  scale-v   the head's attention output softmax(s).V (before o_proj) times eps
  mean-q    the head's query := mean over all query heads of layer L at that position
  mean-k    the KV head's key := mean over all KV heads of layer L at that position
  mean-v    the head's output := mean over all query heads' outputs of layer L at that position
Means are taken over the un-ablated values of that layer; each listed head is then changed.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

MODES = ("undiff-q", "undiff-k", "scale-v", "mean-q", "mean-k", "mean-v")


def load_weights(model_dir):
    idx = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            index = json.load(f)
        files = sorted(set(index["weight_map"].values()))
        w, dtypes = {}, {}
        for fn in files:
            t, d, _ = st_io.read(os.path.join(model_dir, fn))
            for k in t:
                if index["weight_map"].get(k) != fn:
                    raise ValueError(f"{k} found in {fn} but the index says {index['weight_map'].get(k)}")
            w.update(t)
            dtypes.update(d)
        missing = set(index["weight_map"]) - set(w)
        if missing:
            raise ValueError(f"tensors in the index but in no shard: {sorted(missing)}")
        return w, dtypes
    t, d, _ = st_io.read(os.path.join(model_dir, "model.safetensors"))
    return t, d


def rope_inv_freq(cfg, head_dim):
    theta = float(cfg.get("rope_theta", 10000.0))
    inv_freq = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    rs = cfg.get("rope_scaling")
    if not rs:
        return inv_freq
    kind = rs.get("rope_type", rs.get("type"))
    if kind in (None, "default"):
        return inv_freq
    if kind == "linear":
        return inv_freq / float(rs["factor"])
    if kind == "llama3":
        # transformers modeling_rope_utils._compute_llama3_parameters
        factor = float(rs["factor"])
        low = float(rs["low_freq_factor"])
        high = float(rs["high_freq_factor"])
        old_ctx = float(rs["original_max_position_embeddings"])
        low_freq_wavelen = old_ctx / low
        high_freq_wavelen = old_ctx / high
        wavelen = 2 * math.pi / inv_freq
        inv_l = np.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_ctx / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
        return np.where(medium, smoothed, inv_l)
    raise ValueError(f"unsupported rope_scaling type {kind!r}")


class Model:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.cfg = cfg = json.load(f)
        self.w, self.dtypes = load_weights(model_dir)
        self.dim = cfg["hidden_size"]
        self.n_layers = cfg["num_hidden_layers"]
        self.n_heads = cfg["num_attention_heads"]
        self.n_kv = cfg.get("num_key_value_heads") or self.n_heads
        self.head_dim = cfg.get("head_dim") or self.dim // self.n_heads
        self.eps = float(cfg.get("rms_norm_eps", 1e-6))
        self.vocab = cfg["vocab_size"]
        tied = cfg.get("tie_word_embeddings", True)
        self.lm_head = self.w["model.embed_tokens.weight"] if tied else self.w["lm_head.weight"]
        if tied and "lm_head.weight" in self.w:
            raise ValueError("tie_word_embeddings is true but lm_head.weight is present")
        self.inv_freq = rope_inv_freq(cfg, self.head_dim)

    def rms(self, x, weight):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * weight

    def rope(self, x, positions):
        # x: [T, n, d] in HF rotate-half layout
        ang = positions[:, None].astype(np.float64) * self.inv_freq[None, :]  # [T, d/2]
        cos = np.cos(np.concatenate([ang, ang], -1))[:, None, :]
        sin = np.sin(np.concatenate([ang, ang], -1))[:, None, :]
        h = x.shape[-1] // 2
        rot = np.concatenate([-x[..., h:], x[..., :h]], -1)
        return x * cos + rot * sin

    def forward(self, ids, ablate=()):
        """ids: token ids. ablate: iterable of (layer, head, mode, eps).
        Returns dict with logits [T, V] and final_norm [T, dim] (after the final RMSNorm)."""
        ids = np.asarray(ids, dtype=np.int64)
        T = len(ids)
        pos = np.arange(T)
        nh, nkv, hd = self.n_heads, self.n_kv, self.head_dim
        group = nh // nkv
        by_layer = {}
        for (l, h, mode, e) in ablate:
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode}")
            if not (0 <= l < self.n_layers and 0 <= h < nh):
                raise ValueError(f"no head L{l}H{h}")
            by_layer.setdefault(l, []).append((h, mode, float(e)))
        x = self.w["model.embed_tokens.weight"][ids].copy()
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for l in range(self.n_layers):
            p = f"model.layers.{l}."
            xn = self.rms(x, self.w[p + "input_layernorm.weight"])

            def proj(name):
                y = xn @ self.w[p + f"self_attn.{name}.weight"].T
                b = self.w.get(p + f"self_attn.{name}.bias")
                return y if b is None else y + b

            q = self.rope(proj("q_proj").reshape(T, nh, hd), pos)
            k = self.rope(proj("k_proj").reshape(T, nkv, hd), pos)
            v = proj("v_proj").reshape(T, nkv, hd)
            abl = by_layer.get(l, [])
            q0, k0 = q.copy(), k.copy()
            for h, mode, e in abl:
                if mode == "undiff-q":
                    q[:, h] = q0[:, h] * e
                elif mode == "mean-q":
                    q[:, h] = q0.mean(axis=1)
                elif mode == "undiff-k":
                    k[:, h // group] = k0[:, h // group] * e
                elif mode == "mean-k":
                    k[:, h // group] = k0.mean(axis=1)
            kk = np.repeat(k, group, axis=1)  # [T, nh, hd]
            vv = np.repeat(v, group, axis=1)
            s = np.einsum("thd,shd->hts", q, kk) / math.sqrt(hd) + mask[None]
            s = s - s.max(-1, keepdims=True)
            pr = np.exp(s)
            pr /= pr.sum(-1, keepdims=True)
            o = np.einsum("hts,shd->thd", pr, vv)  # [T, nh, hd]
            o0 = o.copy()
            for h, mode, e in abl:
                if mode == "scale-v":
                    o[:, h] = o0[:, h] * e
                elif mode == "mean-v":
                    o[:, h] = o0.mean(axis=1)
            attn = o.reshape(T, nh * hd) @ self.w[p + "self_attn.o_proj.weight"].T
            b = self.w.get(p + "self_attn.o_proj.bias")
            if b is not None:
                attn = attn + b
            x = x + attn
            xn = self.rms(x, self.w[p + "post_attention_layernorm.weight"])
            g = xn @ self.w[p + "mlp.gate_proj.weight"].T
            u = xn @ self.w[p + "mlp.up_proj.weight"].T
            x = x + (g / (1 + np.exp(-g)) * u) @ self.w[p + "mlp.down_proj.weight"].T
        fn = self.rms(x, self.w["model.norm.weight"])
        return {"logits": fn @ self.lm_head.T, "final_norm": fn}

    def greedy(self, ids, n):
        ids = list(ids)
        for _ in range(n):
            ids.append(int(np.argmax(self.forward(ids)["logits"][-1])))
        return ids


def parse_ablation(s):
    parts = s.split(":")
    if len(parts) != 4:
        raise argparse.ArgumentTypeError("expected LAYER:HEAD:MODE:EPS")
    return int(parts[0]), int(parts[1]), parts[2], float(parts[3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--ids", type=int, nargs="+", required=True, help="token ids (include BOS yourself)")
    ap.add_argument("--ablate", type=parse_ablation, nargs="*", default=[], help="LAYER:HEAD:MODE:EPS")
    ap.add_argument("--greedy", type=int, default=0, help="also decode N greedy tokens (no ablation)")
    ap.add_argument("--json", help="write {token_ids, last_logits, all_logits, final_norm_last} here")
    a = ap.parse_args()
    m = Model(a.model_dir)
    r = m.forward(a.ids, a.ablate)
    last = r["logits"][-1]
    top = np.argsort(-last)[:5]
    print("last-position top-5:", ", ".join(f"{i}:{last[i]:.6f}" for i in top))
    if a.greedy:
        print("greedy:", " ".join(map(str, m.greedy(a.ids, a.greedy))))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"token_ids": list(a.ids), "last_logits": last.tolist(),
                       "all_logits": r["logits"].tolist(), "final_norm_last": r["final_norm"][-1].tolist()}, f)


if __name__ == "__main__":
    main()
