#!/usr/bin/env python3
"""Write deterministic tiny RANDOM checkpoints in Hugging Face layout, each with golden outputs of
tools/reference_forward.py (float64). Needs only python3 + numpy.

    python3 tools/make_tiny_models.py [--out test-models/tiny] [--tokenizer-from test-models/stories260K]

Each model folder gets config.json, safetensors weights, generation_config.json, the stories260K
tokenizer files (vocab 512) and golden/reference.json. The weights are random (fixed seeds), so only
the numbers matter, not the text. Re-running rewrites identical files.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from reference_forward import Model, MODES  # noqa: E402

TOKEN_IDS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298]  # "<s> Once upon a time, there was a" + 1
TORCH_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}

MODELS = [
    dict(name="llama-mha-f32-tied", seed=1001, arch="LlamaForCausalLM", model_type="llama", dtype="F32",
         hidden=48, layers=2, heads=4, kv_heads=4, head_dim=None, inter=64, tied=True, bias=False,
         eps=1e-5, theta=10000.0, rope_scaling=None, max_pos=64, shards=1),
    dict(name="llama-gqa-bf16", seed=1002, arch="LlamaForCausalLM", model_type="llama", dtype="BF16",
         hidden=48, layers=3, heads=4, kv_heads=2, head_dim=None, inter=96, tied=False, bias=False,
         eps=1e-5, theta=10000.0, rope_scaling=None, max_pos=512, shards=1),   # the CLI tests' model: room for every built-in prompt
    dict(name="llama3-rope-f16", seed=1003, arch="LlamaForCausalLM", model_type="llama", dtype="F16",
         hidden=64, layers=2, heads=4, kv_heads=2, head_dim=None, inter=96, tied=True, bias=False,
         eps=1e-5, theta=500000.0,
         rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 16},
         max_pos=128, shards=1),
    dict(name="qwen2-bias-bf16", seed=1004, arch="Qwen2ForCausalLM", model_type="qwen2", dtype="BF16",
         hidden=48, layers=2, heads=4, kv_heads=2, head_dim=None, inter=96, tied=True, bias=True,
         eps=1e-6, theta=1000000.0, rope_scaling=None, max_pos=64, shards=1),
    dict(name="mistral-sharded-f32", seed=1005, arch="MistralForCausalLM", model_type="mistral", dtype="F32",
         hidden=32, layers=2, heads=4, kv_heads=2, head_dim=12, inter=64, tied=False, bias=False,
         eps=1e-5, theta=10000.0, rope_scaling={"type": "linear", "factor": 2.0}, max_pos=64, shards=2),
]

VOCAB = 512


def make_weights(m):
    rng = np.random.default_rng(m["seed"])
    d, hd = m["hidden"], m["head_dim"] or m["hidden"] // m["heads"]
    qd, kvd = m["heads"] * hd, m["kv_heads"] * hd

    def lin(out_dim, in_dim):
        return rng.normal(0.0, 1.0 / np.sqrt(in_dim), (out_dim, in_dim))

    def norm(n):
        return 1.0 + 0.1 * rng.normal(size=n)

    t = {"model.embed_tokens.weight": rng.normal(0.0, 0.2, (VOCAB, d))}
    for l in range(m["layers"]):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = norm(d)
        t[p + "self_attn.q_proj.weight"] = lin(qd, d)
        t[p + "self_attn.k_proj.weight"] = lin(kvd, d)
        t[p + "self_attn.v_proj.weight"] = lin(kvd, d)
        if m["bias"]:
            t[p + "self_attn.q_proj.bias"] = 0.2 * rng.normal(size=qd)
            t[p + "self_attn.k_proj.bias"] = 0.2 * rng.normal(size=kvd)
            t[p + "self_attn.v_proj.bias"] = 0.2 * rng.normal(size=kvd)
        t[p + "self_attn.o_proj.weight"] = lin(d, qd)
        t[p + "post_attention_layernorm.weight"] = norm(d)
        t[p + "mlp.gate_proj.weight"] = lin(m["inter"], d)
        t[p + "mlp.up_proj.weight"] = lin(m["inter"], d)
        t[p + "mlp.down_proj.weight"] = lin(d, m["inter"])
    t["model.norm.weight"] = norm(d)
    if not m["tied"]:
        t["lm_head.weight"] = rng.normal(0.0, 0.2, (VOCAB, d))
    return {k: v.astype(np.float32) for k, v in t.items()}


def config(m):
    c = {
        "architectures": [m["arch"]],
        "model_type": m["model_type"],
        "hidden_size": m["hidden"],
        "intermediate_size": m["inter"],
        "num_hidden_layers": m["layers"],
        "num_attention_heads": m["heads"],
        "num_key_value_heads": m["kv_heads"],
        "vocab_size": VOCAB,
        "max_position_embeddings": m["max_pos"],
        "rms_norm_eps": m["eps"],
        "rope_theta": m["theta"],
        "rope_scaling": m["rope_scaling"],
        "tie_word_embeddings": m["tied"],
        "torch_dtype": TORCH_DTYPE[m["dtype"]],
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "initializer_range": 0.02,
        "attention_dropout": 0.0,
    }
    if m["head_dim"]:
        c["head_dim"] = m["head_dim"]
    if m["model_type"] == "llama":
        c["attention_bias"] = False
        c["mlp_bias"] = False
    if m["model_type"] == "qwen2":
        c["use_sliding_window"] = False
        c["sliding_window"] = m["max_pos"]
        c["max_window_layers"] = m["layers"]
    if m["model_type"] == "mistral":
        c["sliding_window"] = None
    return c


def write_model(m, out_root, tok_dir):
    d = os.path.join(out_root, m["name"])
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "golden"))
    t = make_weights(m)
    if m["shards"] == 1:
        st_io.write(os.path.join(d, "model.safetensors"), t, m["dtype"], metadata={"format": "pt"})
    else:
        names = list(t)
        # shard 1: embeddings + first half of the layers; shard 2: the rest (later layers, norm, lm_head)
        first = [k for k in names if k == "model.embed_tokens.weight"
                 or (k.startswith("model.layers.") and int(k.split(".")[2]) < (m["layers"] + 1) // 2)]
        parts = [first, [k for k in names if k not in first]]
        weight_map, total = {}, 0
        for i, keys in enumerate(parts):
            fn = f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors"
            st_io.write(os.path.join(d, fn), {k: t[k] for k in keys}, m["dtype"], metadata={"format": "pt"})
            for k in keys:
                weight_map[k] = fn
                total += t[k].size * (4 if m["dtype"] == "F32" else 2)
        dump(os.path.join(d, "model.safetensors.index.json"),
             {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    dump(os.path.join(d, "config.json"), config(m))
    dump(os.path.join(d, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2})
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(tok_dir, f), os.path.join(d, f))
    return d


def r12(a):
    """float64 values written with 12 significant digits (enough for any float32 comparison)."""
    if isinstance(a, np.ndarray) and a.ndim > 1:
        return [r12(x) for x in a]
    return [float(f"{x:.12g}") for x in np.asarray(a).ravel()]


def ablation_cases(m):
    L, H = m["layers"], m["heads"]
    l1, h1 = L - 1, 1
    cases = [[(l1, h1, mode, eps)] for mode in MODES for eps in (0.0, 1e-5)]
    cases.append([(0, 2, "undiff-q", 0.0), (L - 1, 3, "scale-v", 1e-5)])  # two layers
    cases.append([(0, 0, "undiff-q", 1e-5), (0, H - 1, "mean-v", 0.0)])  # two heads of one layer
    return cases


def golden(m, d):
    model = Model(d)
    base = model.forward(TOKEN_IDS)
    logits = base["logits"]
    out = {
        "model": m["name"],
        "made_by": "tools/reference_forward.py (numpy float64) via tools/make_tiny_models.py",
        "token_ids": TOKEN_IDS,
        "last_logits": r12(logits[-1]),
        "all_logits": r12(logits),
        "final_norm_last": r12(base["final_norm"][-1]),
        "ablated": [],
    }
    p = np.exp(logits[-1] - logits[-1].max())
    p /= p.sum()
    stats = {"logit_std": float(logits[-1].std()), "p_max": float(p.max()), "kl": []}
    for case in ablation_cases(m):
        r = model.forward(TOKEN_IDS, case)
        out["ablated"].append({
            "heads": [{"layer": l, "head": h, "mode": mode, "epsilon": e} for (l, h, mode, e) in case],
            "last_logits": r12(r["logits"][-1]),
            "final_norm_last": r12(r["final_norm"][-1]),
        })
        lq = r["logits"][-1] - r["logits"][-1].max()
        lq = lq - np.log(np.exp(lq).sum())
        stats["kl"].append(float((p * (np.log(p) - lq)).sum()))
    with open(os.path.join(d, "golden", "reference.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    return stats


def dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "test-models", "tiny"))
    ap.add_argument("--tokenizer-from", default=os.path.join(here, "test-models", "stories260K"))
    ap.add_argument("--only", nargs="*", help="model names to (re)write")
    a = ap.parse_args()
    for m in MODELS:
        if a.only and m["name"] not in a.only:
            continue
        d = write_model(m, a.out, a.tokenizer_from)
        s = golden(m, d)
        size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs
                   if f.endswith(".safetensors"))
        print(f"{m['name']}: weights {size} B, last-logit std {s['logit_std']:.3f}, p_max {s['p_max']:.3f}, "
              f"KL(base||ablated) min {min(s['kl']):.2e} max {max(s['kl']):.2e}")


if __name__ == "__main__":
    main()
