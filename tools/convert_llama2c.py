#!/usr/bin/env python3
"""Convert a llama2.c checkpoint (legacy version-0 .bin) and its tok512.bin-format tokenizer into a
Hugging Face Llama model folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
generation_config.json). Needs only python3 + numpy.

    python3 tools/convert_llama2c.py MODEL.bin TOKENIZER.bin OUT_DIR

W_q and W_k rows are permuted from llama2.c's interleaved RoPE pairs (2i, 2i+1) to Hugging Face's
rotate-half pairs (i, i + d/2) within each head, as HF's convert_llama_weights_to_hf.py `permute` does.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

SPIECE = "\u2581"  # ▁


def read_checkpoint(path):
    with open(path, "rb") as f:
        data = f.read()
    dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len = struct.unpack_from("<7i", data, 0)
    shared = vocab_size > 0
    vocab_size = abs(vocab_size)
    cfg = dict(dim=dim, hidden_dim=hidden_dim, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv_heads,
               vocab_size=vocab_size, seq_len=seq_len, shared=shared)
    head_size = dim // n_heads
    kv_dim = n_kv_heads * head_size
    floats = np.frombuffer(data, dtype="<f4", offset=28)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        if pos + n > floats.size:
            raise ValueError(f"{path}: file too short")
        a = floats[pos:pos + n].reshape(shape).copy()
        pos += n
        return a

    w = {}
    w["tok_embeddings"] = take(vocab_size, dim)
    w["rms_att"] = take(n_layers, dim)
    w["wq"] = take(n_layers, dim, dim)
    w["wk"] = take(n_layers, kv_dim, dim)
    w["wv"] = take(n_layers, kv_dim, dim)
    w["wo"] = take(n_layers, dim, dim)
    w["rms_ffn"] = take(n_layers, dim)
    w["w1"] = take(n_layers, hidden_dim, dim)
    w["w2"] = take(n_layers, dim, hidden_dim)
    w["w3"] = take(n_layers, hidden_dim, dim)
    w["rms_final"] = take(dim)
    take(seq_len, head_size // 2)  # freq_cis_real (unused: RoPE is recomputed from theta)
    take(seq_len, head_size // 2)  # freq_cis_imag
    if not shared:
        w["wcls"] = take(vocab_size, dim)
    if pos != floats.size:
        raise ValueError(f"{path}: {floats.size - pos} trailing floats; not a version-0 llama2.c checkpoint?")
    return cfg, w


def permute_rope(w, n_heads):
    """Rows of one head go from llama2.c order (pairs 2i, 2i+1) to HF rotate-half order (i, i + d/2):
    new row j = old row 2j, new row j + d/2 = old row 2j + 1. Same as HF's
    w.view(n_heads, d/2, 2, in).transpose(1, 2).reshape(out, in)."""
    out_dim, in_dim = w.shape
    d = out_dim // n_heads
    return w.reshape(n_heads, d // 2, 2, in_dim).transpose(0, 2, 1, 3).reshape(out_dim, in_dim)


def read_tokenizer(path, vocab_size):
    with open(path, "rb") as f:
        data = f.read()
    (max_len,) = struct.unpack_from("<I", data, 0)
    off = 4
    pieces, scores = [], []
    for _ in range(vocab_size):
        score, n = struct.unpack_from("<fi", data, off)
        off += 8
        pieces.append(data[off:off + n].decode("utf-8"))
        off += n
        scores.append(score)
    if off != len(data):
        raise ValueError(f"{path}: {len(data) - off} trailing bytes for vocab_size {vocab_size}")
    return pieces, scores


def build_tokenizer_json(pieces, scores):
    vocab = {}
    normal = []  # ids of ordinary BPE pieces (not special, not byte tokens)
    for i, p in enumerate(pieces):
        if i == 1:
            tok = "<s>"
        elif i == 2:
            tok = "</s>"
        elif p.startswith("<0x") and p.endswith(">") and len(p) == 6:
            tok = "<0x" + p[3:5].upper() + ">"
        elif p == "<unk>" and i == 0:
            tok = p
        else:
            tok = p.replace(" ", SPIECE)
            normal.append(i)
        if tok in vocab:
            raise ValueError(f"duplicate piece {tok!r} at ids {vocab[tok]} and {i}")
        vocab[tok] = i
    assert list(vocab.values()) == list(range(len(pieces))), "ids must stay unchanged"
    normal_set = {pieces[i].replace(" ", SPIECE) for i in normal}
    # merges: every split of a piece into two pieces, ordered by the score of the merged piece, best first
    merges = []
    order = sorted(normal, key=lambda i: (-scores[i], i))
    for i in order:
        tok = pieces[i].replace(" ", SPIECE)
        for k in range(1, len(tok)):
            a, b = tok[:k], tok[k:]
            if a in normal_set and b in normal_set:
                merges.append(f"{a} {b}")
    special = lambda i, c: {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                            "normalized": False, "special": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPIECE},
            {"type": "Replace", "pattern": {"String": " "}, "content": SPIECE},
        ]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
        },
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPIECE}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0},
        ]},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": "<unk>",
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        },
    }


def tokenizer_config(model_max_length):
    added = {str(i): {"content": c, "lstrip": False, "normalized": False, "rstrip": False,
                      "single_word": False, "special": True}
             for i, c in enumerate(["<unk>", "<s>", "</s>"])}
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": added,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "tokenizer_class": "LlamaTokenizer",
    }


def write_tokenizer_files(tok_path, vocab_size, out_dir, model_max_length=512):
    pieces, scores = read_tokenizer(tok_path, vocab_size)
    dump(os.path.join(out_dir, "tokenizer.json"), build_tokenizer_json(pieces, scores))
    dump(os.path.join(out_dir, "tokenizer_config.json"), tokenizer_config(model_max_length))


def dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def convert(model_path, tok_path, out_dir):
    cfg, w = read_checkpoint(model_path)
    os.makedirs(out_dir, exist_ok=True)
    L, nh, nkv = cfg["n_layers"], cfg["n_heads"], cfg["n_kv_heads"]
    t = {"model.embed_tokens.weight": w["tok_embeddings"]}
    for l in range(L):
        p = f"model.layers.{l}."
        t[p + "self_attn.q_proj.weight"] = permute_rope(w["wq"][l], nh)
        t[p + "self_attn.k_proj.weight"] = permute_rope(w["wk"][l], nkv)
        t[p + "self_attn.v_proj.weight"] = w["wv"][l]
        t[p + "self_attn.o_proj.weight"] = w["wo"][l]
        t[p + "mlp.gate_proj.weight"] = w["w1"][l]
        t[p + "mlp.up_proj.weight"] = w["w3"][l]
        t[p + "mlp.down_proj.weight"] = w["w2"][l]
        t[p + "input_layernorm.weight"] = w["rms_att"][l]
        t[p + "post_attention_layernorm.weight"] = w["rms_ffn"][l]
    t["model.norm.weight"] = w["rms_final"]
    if not cfg["shared"]:
        t["lm_head.weight"] = w["wcls"]
    st_io.write(os.path.join(out_dir, "model.safetensors"), t, "F32", metadata={"format": "pt"})
    dump(os.path.join(out_dir, "config.json"), {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": cfg["dim"],
        "intermediate_size": cfg["hidden_dim"],
        "num_hidden_layers": L,
        "num_attention_heads": nh,
        "num_key_value_heads": nkv,
        "vocab_size": cfg["vocab_size"],
        "max_position_embeddings": cfg["seq_len"],
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": cfg["shared"],
        "torch_dtype": "float32",
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
    })
    dump(os.path.join(out_dir, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2})
    write_tokenizer_files(tok_path, cfg["vocab_size"], out_dir, model_max_length=cfg["seq_len"])
    return cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="llama2.c version-0 checkpoint (.bin)")
    ap.add_argument("tokenizer", help="llama2.c tokenizer (tok512.bin format)")
    ap.add_argument("out_dir")
    a = ap.parse_args()
    cfg = convert(a.model, a.tokenizer, a.out_dir)
    print(f"wrote {a.out_dir}: {cfg}")


if __name__ == "__main__":
    main()
