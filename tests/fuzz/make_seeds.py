#!/usr/bin/env python3
"""Writes the binary seed corpora of the fuzz targets (tests/fuzz/corpus/): a tiny legacy llama2.c checkpoint
(dim 8, hidden 16, 1 layer, 2 heads, vocabulary 8, seq_len 8, shared classifier), a tokenizer of 512 pieces,
and the header of an .npaq of that shape. The YAML, trace and config.json targets take the committed files of
configs/, traces/ and tests/fixtures/hf/ as their seeds. Deterministic: the files are committed as written."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(kind, name, data):
    path = os.path.join(HERE, "corpus", kind)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


dim, hidden, layers, heads, kv_heads, vocab, seq_len = 8, 16, 1, 2, 2, 8, 8
header = struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab, seq_len)
head = dim // heads
floats = (vocab * dim + layers * dim + 4 * layers * dim * dim + layers * dim + 3 * layers * hidden * dim + dim
          + 2 * seq_len * (head // 2))
write("checkpoint", "tiny_legacy.bin", header + struct.pack("<%df" % floats, *[0.01 * (i % 7) for i in range(floats)]))

pieces = [b"<unk>", b"<s>", b"</s>"] + [bytes("<0x%02X>" % b, "ascii") for b in range(256)]
pieces += [bytes(" " + chr(ord("a") + i % 26) * (1 + i // 26), "ascii") for i in range(512 - len(pieces))]
tok = struct.pack("<i", max(len(p) for p in pieces))
for i, p in enumerate(pieces):
    tok += struct.pack("<fi", -float(i), len(p)) + p
write("tokenizer", "tok512.bin", tok)

npaq = b"NPAQ" + struct.pack("<I", 1) + header + b"\x01" + struct.pack("<2i", 2, 4)
write("npaq", "tiny_header.npaq", npaq)
