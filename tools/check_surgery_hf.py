#!/usr/bin/env python3
"""Checks, with Hugging Face transformers, a checkpoint written by `engine.jar surgery`.

    python3 tools/check_surgery_hf.py SURGERED_DIR [--ids 1,403,407,261,378] [--sahara-json logits.json]

Needs torch and transformers (not installed on the build machine; this script has not been run there).
It:
  1. loads SURGERED_DIR with AutoModelForCausalLM and fails on missing or unexpected weights;
  2. loads the source model named in SURGERED_DIR/sahara_surgery.json and ablates the same heads at run
     time with hooks (undiff-q: scale the head's slice of q_proj's output; undiff-k: the KV head's slice of
     k_proj's output; scale-v: the head's slice of o_proj's input) and compares logits at every position;
  3. with --sahara-json (the output of `engine.jar logits --model SURGERED_DIR --token-ids IDS`), compares
     the engine's last-position logits with transformers'.
All in float32 (the checkpoint's weights are upcast, so edited values are the ones stored in the file).
Exit code 0 when everything agrees within --tol (absolute, default 1e-4), 1 otherwise.
"""
import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("surgered", help="folder written by engine.jar surgery")
    ap.add_argument("--ids", default="1,403,407,261,378,10,50,7", help="comma-separated token ids")
    ap.add_argument("--sahara-json", help="output of `engine.jar logits --model SURGERED --token-ids IDS`")
    ap.add_argument("--source", help="the original model folder (default: source_path from sahara_surgery.json)")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()

    try:
        import torch
        from transformers import AutoModelForCausalLM
    except ImportError as e:
        sys.exit(f"error: needs torch and transformers ({e})")

    record = json.load(open(os.path.join(args.surgered, "sahara_surgery.json")))
    ids = torch.tensor([[int(x) for x in args.ids.split(",")]])
    ok = True

    surg, info = AutoModelForCausalLM.from_pretrained(args.surgered, torch_dtype=torch.float32, output_loading_info=True)
    surg.eval()
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs")}
    if bad:
        print(f"FAIL: loading {args.surgered}: {bad}")
        ok = False
    else:
        print(f"ok: transformers loads {args.surgered} ({type(surg).__name__}, no missing/unexpected weights)")
    with torch.no_grad():
        surg_logits = surg(ids).logits[0]

    source = args.source or record["source_path"]
    orig = AutoModelForCausalLM.from_pretrained(source, torch_dtype=torch.float32)
    orig.eval()
    cfg = orig.config
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    group = cfg.num_attention_heads // cfg.num_key_value_heads
    # per layer and projection: slice index -> scale, combined as the engine combines them (products)
    scales = {}
    for h in record["heads"]:
        layer, head = (int(x) for x in h["head"][1:].split("H"))
        mode, eps = h["mode"], float(h["epsilon"])
        key, unit = {"undiff-q": ("q", head), "undiff-k": ("k", head // group), "scale-v": ("o", head)}[mode]
        d = scales.setdefault((layer, key), {})
        d[unit] = d.get(unit, 1.0) * eps

    def out_hook(sl):
        def hook(module, inputs, output):
            output = output.clone()
            for u, s in sl.items():
                output[..., u * hd:(u + 1) * hd] *= s
            return output
        return hook

    def in_hook(sl):
        def hook(module, inputs):
            x = inputs[0].clone()
            for u, s in sl.items():
                x[..., u * hd:(u + 1) * hd] *= s
            return (x,) + tuple(inputs[1:])
        return hook

    handles = []
    for (layer, key), sl in scales.items():
        attn = orig.model.layers[layer].self_attn
        if key == "q":
            handles.append(attn.q_proj.register_forward_hook(out_hook(sl)))
        elif key == "k":
            handles.append(attn.k_proj.register_forward_hook(out_hook(sl)))
        else:
            handles.append(attn.o_proj.register_forward_pre_hook(in_hook(sl)))
    with torch.no_grad():
        runtime_logits = orig(ids).logits[0]
    for hnd in handles:
        hnd.remove()
    diff = (runtime_logits - surg_logits).abs().max().item()
    verdict = "ok" if diff <= args.tol else "FAIL"
    ok &= diff <= args.tol
    print(f"{verdict}: surgered vs runtime-ablated source ({record['ablation']}): max |logit diff| {diff:.3g} at {ids.shape[1]} positions")

    if args.sahara_json:
        s = json.load(open(args.sahara_json))
        if s["token_ids"] != ids[0].tolist():
            sys.exit(f"error: {args.sahara_json} is for token ids {s['token_ids']}, not {ids[0].tolist()} (pass the same --ids)")
        diff = (torch.tensor(s["logits"]) - surg_logits[-1]).abs().max().item()
        verdict = "ok" if diff <= args.tol else "FAIL"
        ok &= diff <= args.tol
        print(f"{verdict}: engine vs transformers on the surgered model, last position: max |logit diff| {diff:.3g}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
