#!/usr/bin/env python3
"""Writes a tiny hand-made byte-level BPE tokenizer (GPT-2 / Llama-3 style) for TokenizerTest.

Run from this directory: python3 make_bytebpe.py. Ids 0..255 are the 256 byte symbols in byte
order (GPT-2's bytes_to_unicode: byte b has id b, e.g. ' ' -> 'Ġ' = 32, 'h' = 104), then nine
merges (ids 256..264), then three special added tokens (265..267). So by hand:
  "hello world" -> [259 "hello", 264 "Ġworld"];  "Hello" -> [72, 101, 257 "ll", 111];
  "é" -> [195, 169];  BOS <|begin_of_text|> = 265 is added by the post-processor.
"""
import json


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


b2u = bytes_to_unicode()
vocab = {b2u[b]: b for b in range(256)}
merges = [("h", "e"), ("l", "l"), ("he", "ll"), ("hell", "o"), ("Ġ", "w"), ("o", "r"),
          ("Ġw", "or"), ("l", "d"), ("Ġwor", "ld")]
for a, b in merges:
    vocab[a + b] = len(vocab)
specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
added = []
for s in specials:
    added.append({"id": len(vocab) + len(added), "content": s, "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": True})

tokenizer = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": added,
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [265], "tokens": ["<|begin_of_text|>"]}},
    },
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
              "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
}
with open("tokenizer.json", "w", encoding="utf-8", newline="") as f:
    json.dump(tokenizer, f, ensure_ascii=False, indent=2)
    f.write("\n")

with open("../chat/llama3-instruct.jinja", encoding="utf-8") as f:
    template = f.read()
config = {
    "bos_token": "<|begin_of_text|>",
    "eos_token": {"__type": "AddedToken", "content": "<|eot_id|>", "lstrip": False, "normalized": False,
                  "rstrip": False, "single_word": False},
    "clean_up_tokenization_spaces": True,
    "chat_template": template,
    "tokenizer_class": "PreTrainedTokenizerFast",
}
with open("tokenizer_config.json", "w", encoding="utf-8", newline="") as f:
    json.dump(config, f, ensure_ascii=False, indent=2)
    f.write("\n")
with open("generation_config.json", "w", encoding="utf-8", newline="") as f:
    json.dump({"bos_token_id": 265, "eos_token_id": [266, 267]}, f, indent=2)
    f.write("\n")
