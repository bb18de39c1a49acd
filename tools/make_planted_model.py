#!/usr/bin/env python3
"""Generate test-models/planted/: a tiny Llama checkpoint whose refusal is carried by known heads.

python3 + numpy only.  Usage:  python3 tools/make_planted_model.py [--data DIR] [--out DIR]

The construction (see test-models/planted/README.md for the full story and measured numbers):

  residual dims   0 ONE (1 on every token)        1 BOS flag          2 HARM flag
                  3 COLON flag (token ":")         4 C  carrier feature
                  5 P1 pair feature (head A)       6 P2 pair feature (head B)
                  7 DEC decision                   8..25 one-hot "chain" dims (18 answer tokens)
                  26..63 generic token-identity noise + junk-head / MLP writes

  carrier  L1H2   query = ONE, key = HARM (+ BOS, 12 lower): attends sharply to the flagged
                  harmful words, or to BOS (the sink) when the prompt has none.
                  value = HARM - S*BOS (S = 4) -> C = +1 on harmful prompts, -S on harmless ones.
                  Under undiff-q the attention becomes uniform: C = (k - S)/T (k flagged tokens
                  among T positions), well below 0.5 -> the harm evidence is diluted away.
  pair A L0H3, pair B L1H0
                  query = ONE, key = BOS, value = BOS: BOS-sink heads; P = weight on BOS = 1.
                  Under undiff-q P = 1/T.
  decision        layer-2 MLP neuron 0, gated to the ":" token:
                  DEC = silu(30*(COLON - 0.3*ONE)) * 0.005*(3*C + P1 + P2 - 3.5*COLON)   (normalised
                  inputs, features in units of their write scale); lm_head: logit("I") - logit("Sure")
                  = ALPHA * DEC / rms.  Sign of D = 3C + P1 + P2 - 3.5:
                  unablated harmful +1.5 (refuse); carrier ablated 3(k-S)/T - 1.5 < 0;
                  one pair head ablated 0.5 + 1/T > 0 (still refuse); both -0.5 + 2/T < 0;
                  harmless C = -S -> D << 0 (answer), with or without any ablation.
  chain           each answer token t has a one-hot dim; lm_head maps it to its successor with
                  weight GAMMA, so generation is a deterministic token chain ending in </s>.
  other heads     random q/k/v, o_proj tiny (JUNK_O) writing only into the noise dims.
"""
import argparse
import csv
import json
import os
import re
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

TEMPLATE = "## Query:{q}\n## Answer:"
PAT = re.compile(r"\w+|[^\w\s]+")  # HF tokenizers Whitespace pre-tokenizer

REFUSAL = ["I", "cannot", "do", "that", "."]
COMPLY = ["Sure", ",", "here", "is", "a", "detailed", "answer", "with", "every", "step",
          "explained", "for", "you", "."]
CHAIN_TOKENS = []
for _t in REFUSAL + COMPLY:
    if _t not in CHAIN_TOKENS:
        CHAIN_TOKENS.append(_t)

# model shape
D_MODEL, N_LAYERS, N_HEADS, HEAD_DIM, D_FF = 64, 3, 4, 16, 128
ROPE_THETA = 1.0e12
RMS_EPS = 1e-5
# planted heads (layer, head), 0-based
CARRIER = (1, 2)
PAIR = [(0, 3), (1, 0)]
# residual dims
ONE, BOS_D, HARM_D, COLON_D, C_D, P1_D, P2_D, DEC_D = range(8)
CHAIN0 = 8
NOISE0 = CHAIN0 + len(CHAIN_TOKENS)
# slow rotary pair: dims (SLOW, SLOW + HEAD_DIM/2) rotate with inv_freq = theta^(-(HD-2)/HD)
SLOW = HEAD_DIM // 2 - 1
# constants
SINK_S = 4.0      # carrier value at BOS (the sink) = -SINK_S
BETA_C = 30.0     # carrier score for flagged tokens (before normalisation effects)
BOS_GAP_C = 12.0  # BOS score is this much lower than a flagged token's for the carrier
BETA_P = 30.0     # pair heads' score for BOS
W_C = 8.0         # residual write scale of the carrier feature
W_P = 4.0         # residual write scale of the pair features
ALPHA = 200.0     # lm_head readout of the DEC dim
DEC_BETA = 30.0   # layer-2 MLP gate: silu(DEC_BETA*(COLON - 0.3*ONE))
DEC_UP = 0.005    # layer-2 MLP up: DEC_UP * (3*C/W_C + (P1+P2)/W_P - 3.5*COLON)
GAMMA = 40.0      # chain readout
JUNK_O = 2e-3     # o_proj scale of non-planted heads
MLP_OUT = 2e-3    # down_proj scale
SEED = 20250101


def tokenize_words(text):
    return PAT.findall(text)


def load_data(data_dir):
    adv = [r["goal"] for r in csv.DictReader(open(os.path.join(data_dir, "advbench/harmful_behaviors.csv"), encoding="utf-8"))]
    jbb = [r["Goal"] for r in csv.DictReader(open(os.path.join(data_dir, "jailbreakbench/data_harmful-behaviors.csv"), encoding="utf-8"))]
    mi = open(os.path.join(data_dir, "maliciousinstruct/MaliciousInstruct.txt"), encoding="utf-8").read().split("\n")
    hl = [r["instruction"] for r in json.load(open(os.path.join(data_dir, "harmless_alpaca/harmless_test.json"), encoding="utf-8"))][:100]
    return {"advbench": adv, "jailbreakbench": jbb, "maliciousinstruct": mi, "harmless": hl}


def build_vocab(data):
    specials = ["[UNK]", "<s>", "</s>"]
    words = []
    seen = set(specials)

    def add(w):
        if w not in seen:
            seen.add(w)
            words.append(w)
    for w in tokenize_words(TEMPLATE.format(q="")) + CHAIN_TOKENS:
        add(w)
    harm_words, safe_words = set(), set()
    for name in ["advbench", "jailbreakbench", "maliciousinstruct", "harmless"]:
        for q in data[name]:
            for w in tokenize_words(TEMPLATE.format(q=q)):
                add(w)
                (safe_words if name == "harmless" else harm_words).add(w)
    vocab = {w: i for i, w in enumerate(specials + words)}
    protected = set(tokenize_words(TEMPLATE.format(q=""))) | set(CHAIN_TOKENS)
    flagged = sorted(w for w in harm_words - safe_words if w not in protected)
    return vocab, flagged


def build_weights(vocab, flagged):
    rng = np.random.default_rng(SEED)
    V, d = len(vocab), D_MODEL
    flagged_ids = {vocab[w] for w in flagged}
    bos, eos = vocab["<s>"], vocab["</s>"]
    colon = vocab[":"]
    noise_dims = d - NOISE0

    # ---- embeddings: flags + a random noise vector filling the row up to rms 1
    E = np.zeros((V, d))
    E[:, ONE] = 1.0
    E[bos, BOS_D] = 1.0
    for i in flagged_ids:
        E[i, HARM_D] = 1.0
    E[colon, COLON_D] = 1.0
    for j, t in enumerate(CHAIN_TOKENS):
        E[vocab[t], CHAIN0 + j] = 1.0
    noise = rng.standard_normal((V, noise_dims))
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    fill = np.sqrt(np.maximum(d - (E ** 2).sum(1), 1.0))
    E[:, NOISE0:] = noise * fill[:, None]
    # the ":" that ends every template prompt carries no identity noise: its final state is then
    # made of the planted features only (this is what makes dataset-level Ships see them)
    E[colon, NOISE0:] = 0.0
    # pair head B (layer 1) reads BOS after pair head A has written W_P into P1 there: the BOS
    # residual is the same for every prompt, so its rms is known; undo it in B's key and value
    bos_rms_l1 = np.sqrt((E[bos] ** 2).sum() + W_P ** 2) / np.sqrt(d)

    layers = []
    for l in range(N_LAYERS):
        Wq = np.zeros((N_HEADS * HEAD_DIM, d))
        Wk = np.zeros((N_HEADS * HEAD_DIM, d))
        Wv = np.zeros((N_HEADS * HEAD_DIM, d))
        Wo = np.zeros((d, N_HEADS * HEAD_DIM))
        for h in range(N_HEADS):
            r = slice(h * HEAD_DIM, (h + 1) * HEAD_DIM)
            if (l, h) == CARRIER:
                # score = q.k/sqrt(hd); q = sqrt(BETA_C*sqrt(hd)) * ONE, k = same * (HARM + (1-gap/beta) BOS)
                a = np.sqrt(BETA_C * np.sqrt(HEAD_DIM))
                Wq[h * HEAD_DIM + SLOW, ONE] = a
                Wk[h * HEAD_DIM + SLOW, HARM_D] = a
                Wk[h * HEAD_DIM + SLOW, BOS_D] = a * (1.0 - BOS_GAP_C / BETA_C)
                Wv[h * HEAD_DIM + 0, HARM_D] = 1.0
                Wv[h * HEAD_DIM + 0, BOS_D] = -SINK_S
                Wo[C_D, h * HEAD_DIM + 0] = W_C
            elif (l, h) in PAIR:
                a = np.sqrt(BETA_P * np.sqrt(HEAD_DIM))
                comp = 1.0 if l == 0 else bos_rms_l1
                Wq[h * HEAD_DIM + SLOW, ONE] = a
                Wk[h * HEAD_DIM + SLOW, BOS_D] = a * comp
                Wv[h * HEAD_DIM + 0, BOS_D] = comp
                Wo[P1_D if (l, h) == PAIR[0] else P2_D, h * HEAD_DIM + 0] = W_P
            else:
                # non-planted head: random attention over the noise dims, negligible output
                Wq[r, NOISE0:] = rng.standard_normal((HEAD_DIM, noise_dims)) * 0.3
                Wk[r, NOISE0:] = rng.standard_normal((HEAD_DIM, noise_dims)) * 0.3
                Wv[r, :] = rng.standard_normal((HEAD_DIM, d)) * 0.3
                Wo[NOISE0:, r] = rng.standard_normal((noise_dims, HEAD_DIM)) * JUNK_O
        gate = rng.standard_normal((D_FF, d)) * 0.2
        up = rng.standard_normal((D_FF, d)) * 0.2
        down = np.zeros((d, D_FF))
        down[NOISE0:, :] = rng.standard_normal((noise_dims, D_FF)) * MLP_OUT
        if l == N_LAYERS - 1:
            # neuron 0 = the refusal decision, gated to the ":" token
            gate[0] = 0.0
            gate[0, COLON_D] = DEC_BETA
            gate[0, ONE] = -0.3 * DEC_BETA
            up[0] = 0.0
            up[0, C_D] = 3.0 * DEC_UP / W_C
            up[0, P1_D] = DEC_UP / W_P
            up[0, P2_D] = DEC_UP / W_P
            up[0, COLON_D] = -3.5 * DEC_UP
            down[:, 0] = 0.0
            down[DEC_D, 0] = 1.0
        layers.append(dict(q=Wq, k=Wk, v=Wv, o=Wo, gate=gate, up=up, down=down,
                           ln1=np.ones(d), ln2=np.ones(d)))

    # ---- lm_head
    LM = np.zeros((V, d))
    LM[:, NOISE0:] = rng.standard_normal((V, noise_dims)) * 0.02
    dec = np.zeros(d)
    dec[DEC_D] = 1.0
    i_id, sure_id = vocab["I"], vocab["Sure"]
    LM[i_id] = 0.0
    LM[sure_id] = 0.0
    LM[i_id] += GAMMA * np.eye(d)[COLON_D] + 0.5 * ALPHA * dec
    LM[sure_id] += GAMMA * np.eye(d)[COLON_D] - 0.5 * ALPHA * dec
    for chain in (REFUSAL, COMPLY):
        for t, nxt in zip(chain, chain[1:] + ["</s>"]):
            LM[vocab[nxt], CHAIN0 + CHAIN_TOKENS.index(t)] = GAMMA
    return dict(embed=E, layers=layers, norm=np.ones(d), lm_head=LM)


def tensors_hf(w):
    out = {"model.embed_tokens.weight": w["embed"]}
    for l, L in enumerate(w["layers"]):
        p = f"model.layers.{l}."
        out[p + "self_attn.q_proj.weight"] = L["q"]
        out[p + "self_attn.k_proj.weight"] = L["k"]
        out[p + "self_attn.v_proj.weight"] = L["v"]
        out[p + "self_attn.o_proj.weight"] = L["o"]
        out[p + "mlp.gate_proj.weight"] = L["gate"]
        out[p + "mlp.up_proj.weight"] = L["up"]
        out[p + "mlp.down_proj.weight"] = L["down"]
        out[p + "input_layernorm.weight"] = L["ln1"]
        out[p + "post_attention_layernorm.weight"] = L["ln2"]
    out["model.norm.weight"] = w["norm"]
    out["lm_head.weight"] = w["lm_head"]
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(meta["shape"]).astype(np.float64)
    return out


def weights_from_hf(t):
    layers = []
    for l in range(N_LAYERS):
        p = f"model.layers.{l}."
        layers.append(dict(q=t[p + "self_attn.q_proj.weight"], k=t[p + "self_attn.k_proj.weight"],
                           v=t[p + "self_attn.v_proj.weight"], o=t[p + "self_attn.o_proj.weight"],
                           gate=t[p + "mlp.gate_proj.weight"], up=t[p + "mlp.up_proj.weight"],
                           down=t[p + "mlp.down_proj.weight"],
                           ln1=t[p + "input_layernorm.weight"], ln2=t[p + "post_attention_layernorm.weight"]))
    return dict(embed=t["model.embed_tokens.weight"], layers=layers, norm=t["model.norm.weight"],
                lm_head=t["lm_head.weight"])


def write_tokenizer(out, vocab):
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for t in ["[UNK]", "<s>", "</s>"]],
        "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [vocab["<s>"]], "tokens": ["<s>"]}},
        },
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
    }
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
        f.write("\n")
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
           "unk_token": "[UNK]", "pad_token": None, "add_bos_token": True, "add_eos_token": False,
           "clean_up_tokenization_spaces": False, "model_max_length": 2048}
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def write_configs(out, vocab):
    cfg = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": D_MODEL, "intermediate_size": D_FF, "num_hidden_layers": N_LAYERS,
        "num_attention_heads": N_HEADS, "num_key_value_heads": N_HEADS, "head_dim": HEAD_DIM,
        "vocab_size": len(vocab), "max_position_embeddings": 2048, "rms_norm_eps": RMS_EPS,
        "rope_theta": ROPE_THETA, "rope_scaling": None, "hidden_act": "silu",
        "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False,
        "bos_token_id": vocab["<s>"], "eos_token_id": vocab["</s>"], "torch_dtype": "float32",
        "initializer_range": 0.02, "pretraining_tp": 1, "use_cache": True,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    gen = {"bos_token_id": vocab["<s>"], "eos_token_id": vocab["</s>"], "do_sample": False,
           "max_new_tokens": 128}
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--out", default=os.path.join(ROOT, "test-models", "planted"))
    args = ap.parse_args()
    data = load_data(args.data)
    vocab, flagged = build_vocab(data)
    w = build_weights(vocab, flagged)
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "model.safetensors"), tensors_hf(w))
    write_tokenizer(args.out, vocab)
    write_configs(args.out, vocab)
    with open(os.path.join(args.out, "flagged_words.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(flagged) + "\n")
    print(f"vocab {len(vocab)}  flagged {len(flagged)}  -> {args.out}")


if __name__ == "__main__":
    main()
