"""Where a coding step's time goes, at several batch sizes (issue #16's profile).

    python bench/profile_step.py [--rows 1 8 16 32] [--steps 48] [--threads 2] [--both] [--out JSON]

For each number of rows this builds the carried-context coder's own pieces (compress/core/stepper.py
`Stepper` kv-carried/3, compress/core/adapt.py's default mixer, compress/core/quantize.py,
constriction's range coder through coder._encode_step) on real tokens of alice29, primes every row
with `keep` tokens of context as the coder does after a window fills, and then times each part of
`--steps` coding steps separately:

  forward    Stepper.step: the model over one token per row, KV cache of `context` positions
  log_softmax  float64 log-softmax of the logits on the CPU (stepper.coding_log_probabilities)
  mix        the adaptation's mixture (adapt.Mixer.mix_log)
  quantize   quantize.as_table: float64 -> the integer table the coder takes
  code       constriction's encode of one symbol per row from that table
  update     the mixer's online update with the coded symbols

and, for reference, the fast scoring pass's tokens/s on the first `--score-bytes` of the same text
(`Compressor.score` under the same defaults: carried context and the adaptation's mixture, parallel
forwards, measured, never coded). Figures are per step and per token; the sum of the
parts is a coding step as the coder runs it (the coder calls exactly these functions in this
order). `forward` runs through the lean replica of transformers' step (compress/core/llamastep.py)
when it verifies; `--both` also times it against transformers' own forward, step by step in
alternating order at each row count, requiring the same logits bit for bit. Run it on an idle
machine: with other processes on the cores, small matrix products slow down many times over.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import constriction
import numpy as np
import torch

from common import ROOT, machine, save_result
from compress.core import adapt, determinism, frontends, quantize
from compress.core.coder import _encode_step
from compress.core.engine import DEFAULT_CARRIED_CONTEXT, Compressor, model_vocab, prefix_token
from compress.core.stepper import CARRIED, Stepper, coding_log_probabilities

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "text" / "canterbury" / "alice29.txt"
PARTS = ("forward", "log_softmax", "mix", "quantize", "code", "update")


def stretches(tokens: np.ndarray, prefix: int, rows: int, keep: int, steps: int):
    """(grid, prime): `rows` stretches of keep + steps tokens spread over the text, and the priming
    the coder gives a window after it fills (the prefix token and each row's first `keep`)."""
    need = keep + steps
    stride = max(1, (len(tokens) - need) // max(1, rows))
    grid = np.stack([tokens[r * stride : r * stride + need] for r in range(rows)])
    prime = np.full((rows, keep + 1), prefix, dtype=np.int64)
    prime[:, 1:] = grid[:, :keep]
    return grid, prime


def profile_rows(lm, tokens: np.ndarray, prefix: int, rows: int, *, context: int, keep: int,
                 steps: int) -> dict:
    """Seconds per part over `steps` coding steps of `rows` rows (each row a different stretch)."""
    grid, prime = stretches(tokens, prefix, rows, keep, steps)
    stepper = Stepper(lm.model, rows, context, kind=CARRIED)
    mixer = adapt.Mixer(rows, adapt.VERSION)
    encoder = constriction.stream.queue.RangeEncoder()
    t0 = time.perf_counter()
    logits = stepper.prime(prime)
    prime_seconds = time.perf_counter() - t0
    active = np.arange(rows)
    spent = dict.fromkeys(PARTS, 0.0)
    for t in range(keep, keep + steps):
        clock = time.perf_counter()
        if t > keep:
            logits = stepper.step(grid[:, t - 1])
        marks = [clock, time.perf_counter()]
        logp = coding_log_probabilities(logits)[active]
        marks.append(time.perf_counter())
        probs = mixer.mix_log(active, logp)
        marks.append(time.perf_counter())
        table = quantize.as_table(probs)
        marks.append(time.perf_counter())
        symbols = grid[active, t]
        _encode_step(encoder, table, symbols)
        marks.append(time.perf_counter())
        mixer.update(active, symbols)
        marks.append(time.perf_counter())
        for part, a, b in zip(PARTS, marks, marks[1:], strict=False):
            spent[part] += b - a
    forward_steps = steps - 1  # the first step's logits come from the prime
    per_step = {p: spent[p] / (forward_steps if p == "forward" else steps) for p in PARTS}
    step_seconds = sum(per_step.values())
    return {"rows": rows, "model_step": "lean" if stepper.lean else "transformers", "steps": steps,
            "prime_seconds": prime_seconds, "prime_tokens": rows * (keep + 1),
            "ms_per_step": {p: 1e3 * s for p, s in per_step.items()}, "ms_per_step_total": 1e3 * step_seconds,
            "share": {p: s / step_seconds for p, s in per_step.items()},
            "tokens_per_s": rows / step_seconds}


def paired_forward(lm, tokens: np.ndarray, prefix: int, rows: int, *, context: int, keep: int,
                   steps: int) -> dict:
    """The lean step against transformers' forward, step by step: two steppers primed alike, each
    step timed on both in alternating order, logits required bit-identical. Pairing step by step
    cancels the slow drifts of a shared host, which whole runs timed one after the other do not."""
    grid, prime = stretches(tokens, prefix, rows, keep, steps)
    lean, plain = (Stepper(lm.model, rows, context, kind=CARRIED, lean=flag) for flag in (True, False))
    lean.prime(prime)
    plain.prime(prime)
    times = {"lean": [], "transformers": []}
    for t in range(keep, keep + steps - 1):
        order = ((lean, "lean"), (plain, "transformers"))
        logits = {}
        for stepper, name in order if t % 2 else order[::-1]:
            clock = time.perf_counter()
            logits[name] = stepper.step(grid[:, t])
            times[name].append(time.perf_counter() - clock)
        if not torch.equal(logits["lean"], logits["transformers"]):
            raise AssertionError(f"rows {rows}: the lean step's logits differ at step {t}")
    a, b = (np.array(times[k]) * 1e3 for k in ("transformers", "lean"))
    return {"rows": rows, "steps": len(a), "lean_used": lean.lean,
            "transformers_ms_median": float(np.median(a)), "lean_ms_median": float(np.median(b)),
            "saving_ms_median": float(np.median(a - b)),
            "saving_share_median": float(np.median((a - b) / a))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--file", type=Path, default=DEFAULT_FILE)
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--rows", type=int, nargs="+", default=[1, 8, 16, 32])
    p.add_argument("--steps", type=int, default=48)
    p.add_argument("--keep", type=int, default=512)
    p.add_argument("--context", type=int, default=DEFAULT_CARRIED_CONTEXT)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dtype", default="auto",
                   help="auto (the coder's default for text here), float32, bf16-linear, ... (recorded)")
    p.add_argument("--score-bytes", type=int, default=32768)
    p.add_argument("--both", action="store_true",
                   help="also time the forward through transformers' own step (lean=False), paired step by "
                        "step with the lean one at each row count: same bits")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "profile_step.json")
    args = p.parse_args(argv)

    data = args.file.read_bytes()
    c = Compressor(args.model, threads=args.threads, dtype=args.dtype)
    lm = c.loaded()
    determinism.apply(args.threads)
    fe = frontends.get("text")
    symbolizer = fe.symbolizer(lm.tokenizer, model_vocab(lm.model))
    tokens = np.concatenate([np.asarray(u, dtype=np.int64).ravel() for u in symbolizer.encode_units(data)])
    prefix = prefix_token(lm.tokenizer)

    started = time.perf_counter()
    sample = data[: args.score_bytes]
    scored = c.score(sample, batch=8)
    score_seconds = time.perf_counter() - started
    scoring = {"bytes": len(sample), "tokens": scored.tokens, "seconds": score_seconds,
               "tokens_per_s": scored.tokens / score_seconds}
    print(f"scoring pass: {scoring['tokens_per_s']:.0f} tok/s ({scored.tokens} tokens, {score_seconds:.1f} s)")

    results = []
    print(f"{'rows':>4} {'tok/s':>7} {'ms/step':>8}  " + "  ".join(f"{p:>11}" for p in PARTS))
    for rows in args.rows:
        r = profile_rows(lm, tokens, prefix, rows, context=args.context, keep=args.keep, steps=args.steps)
        results.append(r)
        print(f"{rows:>4} {r['tokens_per_s']:>7.1f} {r['ms_per_step_total']:>8.1f}  "
              + "  ".join(f"{r['ms_per_step'][p]:>6.1f} {100 * r['share'][p]:>3.0f}%" for p in PARTS)
              + f"  {r['model_step']}")
    paired = []
    if args.both:
        print("forward, lean step against transformers' (medians of paired steps):")
        for rows in args.rows:
            x = paired_forward(lm, tokens, prefix, rows, context=args.context, keep=args.keep, steps=args.steps)
            paired.append(x)
            print(f"{rows:>4} rows: {x['transformers_ms_median']:.1f} -> {x['lean_ms_median']:.1f} ms, "
                  f"saving {x['saving_ms_median']:.2f} ms ({100 * x['saving_share_median']:.1f}%)")
    doc = {"format": "lmcompress-profile-step/1", "model": args.model, "file": args.file.name,
           "context": args.context, "keep": args.keep, "threads": args.threads, "dtype": lm.dtype,
           "adapt": adapt.VERSION,
           "vocab": model_vocab(lm.model), "scoring": scoring, "rows": results, "machine": machine()}
    if paired:
        doc["paired_forward"] = paired
    save_result(args.out, doc, "bench/profile_step.py", argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
