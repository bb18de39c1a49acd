"""Minimal safetensors reader/writer in plain numpy (no torch, no safetensors package).

Format: 8-byte little-endian header length N, then N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, optional "__metadata__": {str: str}},
padded with spaces to a multiple of 8, then the raw little-endian tensor bytes.

Supported dtypes: F32, F16, BF16 (and F64/I32/I64 for completeness). numpy has no bfloat16, so BF16
tensors are held as float32 arrays whose values are exactly representable in bf16.
"""
import json
import struct

import numpy as np

_NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4}


def f32_to_bf16_bits(a):
    """Round float32 values to bfloat16 (round to nearest, ties to even); returns uint16 bit patterns."""
    u = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    rounding = ((u >> 16) & 1) + 0x7FFF
    return ((u + rounding) >> 16).astype("<u2")


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype="<u2").astype("<u4") << 16).view("<f4")


def round_to(a, dtype):
    """The float32 values a tensor will hold after being stored as `dtype`."""
    a = np.asarray(a, dtype=np.float32)
    if dtype == "F32":
        return a
    if dtype == "F16":
        return a.astype("<f2").astype(np.float32)
    if dtype == "BF16":
        return bf16_bits_to_f32(f32_to_bf16_bits(a)).reshape(a.shape)
    raise ValueError(dtype)


def _to_bytes(arr, dtype):
    if dtype == "BF16":
        return f32_to_bf16_bits(arr).tobytes()
    return np.ascontiguousarray(arr, dtype=_NP[dtype]).tobytes()


def write(path, tensors, dtype="F32", metadata=None):
    """tensors: dict name -> numpy array (written in the given insertion order). dtype: one for all,
    or a dict name -> dtype."""
    header = {}
    blobs = []
    off = 0
    for name, arr in tensors.items():
        dt = dtype[name] if isinstance(dtype, dict) else dtype
        b = _to_bytes(arr, dt)
        header[name] = {"dtype": dt, "shape": [int(s) for s in np.shape(arr)], "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata is not None:
        header = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}, **header}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return 8 + len(h) + off


def read(path):
    """Returns (dict name -> float64/int numpy array, dict name -> dtype string, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None)
    base = 8 + n
    out, dtypes = {}, {}
    for name, info in header.items():
        dt = info["dtype"]
        b, e = info["data_offsets"]
        raw = data[base + b:base + e]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if e - b != count * _SIZE[dt]:
            raise ValueError(f"{path}: {name}: byte length {e - b} does not fit {dt} {shape}")
        if dt == "BF16":
            a = bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2"))
        else:
            a = np.frombuffer(raw, dtype=_NP[dt])
        out[name] = a.reshape(shape).astype(np.float64)
        dtypes[name] = dt
    return out, dtypes, meta
