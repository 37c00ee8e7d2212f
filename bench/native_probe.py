"""Would a native llama.cpp backend pay? Its batched decode step against the PyTorch stepper's.

    python bench/native_probe.py [--rows 1 8 17 32] [--steps 48] [--keep 512] [--threads 2]
                                 [--types Q4_1 BF16 Q8_0 F32] [--out JSON]

Issue #16 asks for an optional llama.cpp backend if and only if it is both much faster and
bit-deterministic. This measures both before any of it is wired into the coder: the embedded GGUF
(SmolLM2-135M-Instruct, Q4_1 as shipped; and requantized by llama.cpp itself to other weight types)
runs the carried coder's pattern through llama-cpp-python's low-level API: every row (one llama.cpp
sequence, its own KV cache stream, flash attention off) is primed with `keep` real tokens of
alice29 in one batched decode, then steps one token per row per call, as kv-carried/3 does. Per
weight type and row count it reports decode tokens/s, the bits the model's logits give the tokens
it stepped (cross-entropy, so a faster weight type that predicts worse shows it), and whether two
runs gave bitwise identical logits. The same tokens through compress/core/stepper.py's Stepper give
the PyTorch row for comparison (its forward only: log-softmax, mixing and coding come on top in
both cases, bench/profile_step.py).

llama-cpp-python is not a dependency: without it this exits 1 saying so. Build it from source with
`pip install llama-cpp-python` (needs cmake and a C++ compiler; ~5 minutes on the 2-core CPU).
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import ROOT, machine, save_result
from compress.core import determinism, frontends, models
from compress.core.engine import DEFAULT_CARRIED_CONTEXT, Compressor, model_vocab, prefix_token
from compress.core.stepper import CARRIED, Stepper

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "text" / "canterbury" / "alice29.txt"


def _bits(logits: np.ndarray, targets: np.ndarray) -> float:
    """Cross-entropy in bits of `targets` [n] under float32 `logits` [n, V] (float64 softmax)."""
    logp = torch.log_softmax(torch.from_numpy(logits).double(), -1).numpy()
    return -float(logp[np.arange(len(targets)), targets].sum()) / np.log(2)


class NativeRun:
    """One llama.cpp context: `rows` sequences with `context` positions each."""

    def __init__(self, llama, model, rows: int, context: int, threads: int):
        self.L, self.rows = llama, rows
        cp = llama.llama_context_default_params()
        cp.n_ctx = rows * context
        cp.n_batch = rows * context
        cp.n_ubatch = 512
        cp.n_seq_max = rows
        cp.n_threads = cp.n_threads_batch = threads
        cp.flash_attn_type = llama.LLAMA_FLASH_ATTN_TYPE_DISABLED
        cp.kv_unified = False
        cp.no_perf = True
        self.ctx = llama.llama_init_from_model(model, cp)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create a context")
        self.batch = llama.llama_batch_init(rows * context, 0, 1)
        self.vocab = llama.llama_vocab_n_tokens(llama.llama_model_get_vocab(model))

    def decode(self, tokens: np.ndarray, start: int) -> np.ndarray:
        """Feed `tokens` [rows, n] at positions start.. of every row; logits after each row's last."""
        rows, n = tokens.shape
        b, k = self.batch, 0
        for r in range(rows):
            for i in range(n):
                b.token[k], b.pos[k], b.n_seq_id[k] = int(tokens[r, i]), start + i, 1
                b.seq_id[k][0], b.logits[k] = r, int(i == n - 1)
                k += 1
        b.n_tokens = k
        if self.L.llama_decode(self.ctx, b) != 0:
            raise RuntimeError("llama_decode failed")
        return np.ctypeslib.as_array(self.L.llama_get_logits(self.ctx), shape=(rows, self.vocab)).copy()

    def close(self) -> None:
        self.L.llama_batch_free(self.batch)
        self.L.llama_free(self.ctx)


def run_native(llama, model, grid: np.ndarray, prefix: int, *, keep: int, steps: int, context: int,
               threads: int) -> tuple[np.ndarray, float]:
    """(logits of every step [steps, rows, V], seconds of the stepping after the priming)."""
    rows = len(grid)
    run = NativeRun(llama, model, rows, context, threads)
    try:
        prime = np.concatenate([np.full((rows, 1), prefix), grid[:, :keep]], axis=1)
        outs = [run.decode(prime, 0)]
        t0 = time.perf_counter()
        for t in range(keep, keep + steps - 1):
            outs.append(run.decode(grid[:, t : t + 1], t + 1))
        return np.stack(outs), time.perf_counter() - t0
    finally:
        run.close()


def run_torch(lm, grid: np.ndarray, prefix: int, *, keep: int, steps: int, context: int):
    rows = len(grid)
    stepper = Stepper(lm.model, rows, context, kind=CARRIED)
    prime = np.concatenate([np.full((rows, 1), prefix), grid[:, :keep]], axis=1)
    outs = [stepper.prime(prime).float().numpy()]
    t0 = time.perf_counter()
    for t in range(keep, keep + steps - 1):
        outs.append(stepper.step(grid[:, t]).float().numpy())
    return np.stack(outs), time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--file", type=Path, default=DEFAULT_FILE)
    p.add_argument("--rows", type=int, nargs="+", default=[1, 8, 17, 32])
    p.add_argument("--steps", type=int, default=48)
    p.add_argument("--keep", type=int, default=512)
    p.add_argument("--context", type=int, default=DEFAULT_CARRIED_CONTEXT)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--types", nargs="+", default=["Q4_1", "BF16", "Q8_0", "F32"])
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "native_probe.json")
    args = p.parse_args(argv)
    try:
        import llama_cpp as llama
    except ImportError:
        print("bench/native_probe.py: llama-cpp-python is not installed (pip install llama-cpp-python)",
              file=sys.stderr)
        return 1

    gguf = str(models.resolve_alias("smollm2-135m"))
    c = Compressor("smollm2-135m", threads=args.threads)
    lm = c.loaded()
    determinism.apply(args.threads)
    symbolizer = frontends.get("text").symbolizer(lm.tokenizer, model_vocab(lm.model))
    data = args.file.read_bytes()
    tokens = np.concatenate([np.asarray(u, dtype=np.int64).ravel() for u in symbolizer.encode_units(data)])
    prefix = prefix_token(lm.tokenizer)
    need = args.keep + args.steps

    quiet = llama.llama_log_callback(lambda level, text, user: None)
    llama.llama_log_set(quiet, ctypes.c_void_p(0))
    llama.llama_backend_init()
    ftypes = {"Q4_1": None, "BF16": "MOSTLY_BF16", "F16": "MOSTLY_F16", "Q8_0": "MOSTLY_Q8_0",
              "F32": "ALL_F32"}
    results, tmp = [], tempfile.TemporaryDirectory()
    print(f"{'weights':<8} {'rows':>4} {'tok/s':>7} {'ms/step':>8} {'bits/token':>10} {'deterministic':>13}")
    for rows in args.rows:
        stride = max(1, (len(tokens) - need) // rows)
        grid = np.stack([tokens[r * stride : r * stride + need] for r in range(rows)])
        targets = grid[:, args.keep : args.keep + args.steps].T.reshape(-1)  # step-major, as stepped
        logits, seconds = run_torch(lm, grid, prefix, keep=args.keep, steps=args.steps, context=args.context)
        bits = _bits(logits.reshape(-1, logits.shape[-1]), targets) / len(targets)
        again, _ = run_torch(lm, grid, prefix, keep=args.keep, steps=args.steps, context=args.context)
        row = {"backend": "torch", "weights": "F32 (GGUF Q4_1 dequantised by transformers)", "rows": rows,
               "tokens_per_s": rows * (args.steps - 1) / seconds, "ms_per_step": 1e3 * seconds / (args.steps - 1),
               "bits_per_token": bits, "deterministic": bool(np.array_equal(logits, again))}
        results.append(row)
        print(f"{'torch':<8} {rows:>4} {row['tokens_per_s']:>7.1f} {row['ms_per_step']:>8.1f} "
              f"{bits:>10.4f} {row['deterministic']!s:>13}", flush=True)
        for kind in args.types:
            path = gguf
            if ftypes[kind] is not None:
                path = str(Path(tmp.name) / f"{kind}.gguf")
                if not Path(path).exists():
                    qp = llama.llama_model_quantize_default_params()
                    qp.ftype, qp.allow_requantize, qp.nthread = getattr(llama, "LLAMA_FTYPE_" + ftypes[kind]), True, 2
                    if llama.llama_model_quantize(gguf.encode(), path.encode(), ctypes.byref(qp)) != 0:
                        raise RuntimeError(f"llama.cpp could not requantize to {kind}")
            model = llama.llama_model_load_from_file(path.encode(), llama.llama_model_default_params())
            try:
                a, seconds = run_native(llama, model, grid, prefix, keep=args.keep, steps=args.steps,
                                           context=args.context, threads=args.threads)
                b, _ = run_native(llama, model, grid, prefix, keep=args.keep, steps=args.steps,
                                     context=args.context, threads=args.threads)
            finally:
                llama.llama_model_free(model)
            bits = _bits(a.reshape(-1, a.shape[-1]), targets) / len(targets)
            row = {"backend": "llama.cpp", "weights": kind + (" (as shipped)" if ftypes[kind] is None
                                                              else " (requantized from Q4_1)"),
                   "rows": rows, "tokens_per_s": rows * (args.steps - 1) / seconds,
                   "ms_per_step": 1e3 * seconds / (args.steps - 1), "bits_per_token": bits,
                   "deterministic": bool(np.array_equal(a, b))}
            results.append(row)
            print(f"{kind:<8} {rows:>4} {row['tokens_per_s']:>7.1f} {row['ms_per_step']:>8.1f} "
                  f"{bits:>10.4f} {row['deterministic']!s:>13}", flush=True)
    doc = {"format": "lmcompress-native-probe/1", "model": "smollm2-135m", "dtype": lm.dtype, "file": args.file.name,
           "context": args.context, "keep": args.keep, "steps": args.steps, "threads": args.threads,
           "llama_cpp_python": getattr(llama, "__version__", "unknown"),
           "llama_cpp_system": llama.llama_print_system_info().decode().strip(),
           "rows": results, "machine": machine()}
    save_result(args.out, doc, "bench/native_probe.py", argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
