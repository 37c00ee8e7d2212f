"""Tune carried context and adaptation on a whole file from cached model log-probabilities.

    python bench/adapt_tune.py dump ROWS CONTEXT KEEP OUT [--file F] [--offset N] [--bytes N] [--model M]
    python bench/adapt_tune.py replay OUT ["mix;mix:BIAS_RATE=0.1;none"]

`dump` runs the carried-context schedule (`stepper.windows`: rows of contiguous stretches,
re-primed with their last `keep` tokens) as parallel forwards, one thread, and stores every coded
token's float64 log-softmax as float16 in OUT.npy (tokens in the coder's step order: step by step,
active rows in row order) with the order and the model-only bits in OUT.json. `replay` then runs
compress/core/adapt.py's mixer over those distributions exactly as the coder feeds it (`mix` is the
default version; `KEY=VALUE` patches one of its constants; `none` is the model alone) and prints
bits per byte, in a minute or two instead of a coder run per setting. The logits are the parallel
pass's, rounded to float16, so the figures are measurements of settings, not container sizes.
Tune on alice29 and validation data only (never the test parts).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from common import machine, save_result
from compress.core import adapt, determinism, frontends
from compress.core import segments as seglib
from compress.core.engine import Compressor, model_vocab, prefix_token
from compress.core.stepper import windows

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "text" / "canterbury" / "alice29.txt"


def dump(args) -> None:
    data = Path(args.file).read_bytes()[args.offset :][: args.bytes or None]
    c = Compressor(args.model, threads=1)
    lm = c.loaded()
    determinism.apply(1)
    fe = frontends.get("text")
    payload, _ = fe.split(data)
    sym = fe.symbolizer(lm.tokenizer, model_vocab(lm.model))
    prefix = prefix_token(lm.tokenizer)
    stretches = seglib.stretches(sym.encode_units(payload), args.rows)
    lengths = np.array([len(s) for s in stretches])
    grid = np.full((len(stretches), lengths.max()), prefix, dtype=np.int64)
    for r, s in enumerate(stretches):
        grid[r, : len(s)] = s
    store = np.lib.format.open_memmap(args.out + ".npy", mode="w+", dtype=np.float16,
                                      shape=(int(lengths.sum()), model_vocab(lm.model)))
    decoder, head = lm.model.get_decoder(), lm.model.get_output_embeddings()
    order, pos, bits, started = [], 0, 0.0, time.perf_counter()
    with torch.inference_mode():
        for start, kept, coded in windows(args.context, args.keep, int(lengths.max())):
            ids = np.full((len(stretches), kept + coded), prefix, dtype=np.int64)
            ids[:, 1:] = grid[:, start - kept : start + coded - 1]
            hidden = torch.cat([decoder(input_ids=torch.as_tensor(ids[a : a + 4])).last_hidden_state[:, kept:]
                                for a in range(0, len(stretches), 4)])
            for i in range(0, coded, 64):
                logp = torch.log_softmax(head(hidden[:, i : i + 64]).double(), -1)
                for j in range(logp.shape[1]):
                    t = start + i + j
                    active = np.nonzero(lengths > t)[0]
                    x = logp[active, j].numpy()
                    target = grid[active, t]
                    bits -= x[np.arange(len(active)), target].sum() / np.log(2)
                    store[pos : pos + len(active)] = x.astype(np.float16)
                    order.extend((int(r), int(t), int(g)) for r, g in zip(active, target, strict=True))
                    pos += len(active)
            print(f"window at {start}: {time.perf_counter() - started:.0f} s", flush=True)
    store.flush()
    meta = {"file": str(args.file), "offset": args.offset, "bytes": len(data), "rows": args.rows,
            "context": args.context, "keep": args.keep, "model": args.model, "dtype": lm.dtype,
            "model_bits": bits, "model_bpb": bits / len(data),
            "seconds": time.perf_counter() - started, "order": order, "lengths": lengths.tolist()}
    Path(args.out + ".json").write_text(json.dumps(meta))
    print(f"model alone: {bits / len(data):.4f} bpb")


def replay(args) -> None:
    meta = json.loads(Path(args.out + ".json").read_text())
    logp = np.load(args.out + ".npy", mmap_mode="r")
    order = np.array(meta["order"])
    steps = np.split(np.arange(len(order)), np.flatnonzero(np.diff(order[:, 1])) + 1)
    results = []
    for spec in args.specs.split(";"):
        kind, _, patch = spec.partition(":")
        saved = {}
        for item in filter(None, patch.split(",")):
            key, value = item.split("=")
            saved[key] = getattr(adapt, key)
            setattr(adapt, key, type(saved[key])(value))
        try:
            mixer = adapt.Mixer(len(meta["lengths"])) if kind == "mix" else None
            bits, started = 0.0, time.perf_counter()
            for idx in steps:
                active, target = order[idx, 0], order[idx, 2]
                lp = logp[idx].astype(np.float64)
                lp -= np.log(np.exp(lp).sum(axis=1, keepdims=True))  # renormalise after float16
                q = mixer.mix_log(active, lp) if mixer else np.exp(lp)
                bits -= np.log2(q[np.arange(len(idx)), target]).sum()
                if mixer:
                    mixer.update(active, target)
        finally:
            for key, value in saved.items():
                setattr(adapt, key, value)
        alone = meta.get("model_bpb", meta.get("bpb"))
        results.append({"spec": spec, "bpb": bits / meta["bytes"], "model_alone_bpb": alone})
        print(f"{spec:32s} {bits / meta['bytes']:.4f} bpb (model alone {alone:.4f}; rows "
              f"{meta['rows']}, context {meta['context']}, keep {meta['keep']}) "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    if args.json:
        keep = {k: meta.get(k) for k in ("file", "offset", "bytes", "rows", "context", "keep", "model", "dtype")}
        save_result(Path(args.json), {"dump": keep, "machine": machine(), "results": results},
                    "bench/adapt_tune.py", None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("rows", type=int)
    d.add_argument("context", type=int)
    d.add_argument("keep", type=int)
    d.add_argument("out")
    d.add_argument("--file", default=str(DEFAULT_FILE))
    d.add_argument("--bytes", type=int, default=0)
    d.add_argument("--offset", type=int, default=0, help="skip this many bytes first (e.g. to a validation part)")
    d.add_argument("--model", default="smollm2-135m")
    r = sub.add_parser("replay")
    r.add_argument("out")
    r.add_argument("specs", nargs="?", default="none;mix")
    r.add_argument("--json", help="also write the figures (with the dump's file, rows, context, keep, model) here")
    args = p.parse_args()
    dump(args) if args.cmd == "dump" else replay(args)


if __name__ == "__main__":
    main()
