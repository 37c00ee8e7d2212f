"""Engine benchmark: scoring pass vs arithmetic-coded compress and decompress, side by side.

    python bench/engine.py                       # throughput at batch 1, 8, 32 on alice29.txt
    python bench/engine.py --overhead FILE       # whole-file container size vs ideal code length
    python bench/engine.py --carried FILE [--bytes N] [--settings independent,carried,adapted]
                                                 # independent segments vs carried context vs
                                                 # carried context + adaptation (kv-carried/3)
    python bench/engine.py --rows-curve 1,4,16 [--file FILE] [--bytes N]  # carried + adaptation by rows
    python bench/engine.py --step-ab 3 --rows 17 [--file FILE] [--bytes N]  # lean step vs transformers'
    python bench/engine.py --line-ends FILE,FILE  # CRLF line ends coded as LF vs as they are (scoring)

Throughput: for each batch size B the input is the first B full segments of the file (B x
(context-1) tokens), so every row of the batch is busy; the scoring pass runs on the same tokens.
Reports tokens/s and bytes/s of each phase and the peak resident memory of the process during it.
Overhead: compresses a whole file, decompresses it, and compares the container with the ideal code
length of the same stepper distributions (sum of -log2 p) and with the fast scoring pass.
Step A/B: compresses the same input alternately through the lean one-token step
(compress/core/llamastep.py) and transformers' own forward (LMCOMPRESS_LEAN_STEP=0), N times each,
checks that every container is byte-identical (after one untimed warm-up compression), and reports
each run's tokens/s and the median of the paired ratios: a relative figure that holds up on a
shared machine, where absolute tokens/s do not.
Line ends: the scoring pass (the coder's own distributions: rows, adaptation) on each file with the
text front end's default (CRLF line ends coded as LF when every LF follows a CR) and with
newlines=keep (the bytes as they are); bits per byte of the original file in both.
Writes JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import psutil

from common import machine
from compress.core import container, llamastep, segments, stepper
from compress.core.engine import DEFAULT_CONTEXT, Compressor, library_versions, model_vocab
from compress.core.symbols import TextSymbolizer

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "text" / "canterbury" / "alice29.txt"


class PeakRSS:
    """Samples this process's resident memory every 20 ms; `.peak` in bytes."""

    def __init__(self):
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def prefix_of_segments(c: Compressor, data: bytes, n: int) -> bytes:
    """The shortest prefix of `data` that fills n full segments (or all of it)."""
    lm = c.loaded()
    sym = TextSymbolizer(lm.tokenizer, model_vocab(lm.model))
    units = sym.encode_units(data)
    segs = segments.cut(units, c.context)[:n]
    return b"".join(sym.decode(s) for s in segs)


def throughput(args) -> dict:
    data = Path(args.file).read_bytes()
    rows = []
    for batch in args.batches:
        # independent segments (kv-growing/2): B full segments coded as one batch of B rows
        c = Compressor(args.model, context=args.context or DEFAULT_CONTEXT, batch=batch, threads=args.threads,
                       stepper_kind=stepper.GROWING)
        c.loaded()
        chunk = prefix_of_segments(c, data, batch)
        row = {"batch": batch, "bytes": len(chunk)}
        with PeakRSS() as mem:
            t = time.perf_counter()
            s = c.score(chunk, batch=batch)
            row["score_s"] = time.perf_counter() - t
        row.update(tokens=s.tokens, score_bpb=s.bits_per_byte, score_peak_mib=mem.peak / 2**20)
        with PeakRSS() as mem:
            blob = c.compress(chunk)
        row.update(compress_s=c.last.seconds, compress_peak_mib=mem.peak / 2**20,
                   container_bytes=len(blob), actual_bpb=8 * len(blob) / len(chunk))
        with PeakRSS() as mem:
            out = c.decompress(blob)
        row.update(decompress_s=c.last.seconds, decompress_peak_mib=mem.peak / 2**20,
                   round_trip_ok=out == chunk)
        for phase in ("score", "compress", "decompress"):
            row[f"{phase}_tok_s"] = row["tokens"] / row[f"{phase}_s"]
            row[f"{phase}_B_s"] = row["bytes"] / row[f"{phase}_s"]
        rows.append(row)
        print_row(row)
    best_score = max(r["score_tok_s"] for r in rows)
    summary = {
        "best_score_tok_s": best_score,
        "best_compress_tok_s": max(r["compress_tok_s"] for r in rows),
        "best_decompress_tok_s": max(r["decompress_tok_s"] for r in rows),
    }
    summary["compress_vs_score"] = summary["best_compress_tok_s"] / best_score
    summary["decompress_vs_score"] = summary["best_decompress_tok_s"] / best_score
    print(f"best compress = {summary['compress_vs_score']:.0%} of best scoring tok/s, "
          f"best decompress = {summary['decompress_vs_score']:.0%}")
    return {"rows": rows, "summary": summary}


def print_row(r: dict) -> None:
    print(f"batch {r['batch']:>3} | {r['tokens']:>6} tok {r['bytes']:>7} B | "
          f"score {r['score_tok_s']:7.1f} tok/s {r['score_B_s']:8.0f} B/s | "
          f"compress {r['compress_tok_s']:6.1f} tok/s {r['compress_B_s']:7.0f} B/s | "
          f"decompress {r['decompress_tok_s']:6.1f} tok/s {r['decompress_B_s']:7.0f} B/s | "
          f"peak {max(r['score_peak_mib'], r['compress_peak_mib'], r['decompress_peak_mib']):.0f} MiB | "
          f"ok={r['round_trip_ok']}", flush=True)


def overhead(args) -> dict:
    data = Path(args.overhead).read_bytes()
    c = Compressor(args.model, context=args.context, batch=args.batches[-1], threads=args.threads)
    score = c.score(data, batch=8)
    blob = c.compress(data)
    comp = c.last
    out = c.decompress(blob)
    ideal_bytes = comp.ideal_bits / 8
    result = {
        "file": str(args.overhead), "bytes": len(data), "tokens": comp.tokens,
        "container_bytes": len(blob), "header_bytes": container.stored_header_length(blob),
        "ideal_bytes_stepper": ideal_bytes, "score_bytes_parallel": score.bits / 8,
        "overhead_bytes": len(blob) - ideal_bytes,
        "overhead_vs_ideal": len(blob) / ideal_bytes - 1,
        "budget_bytes": 1.005 * ideal_bytes + 200,
        "within_budget": len(blob) <= 1.005 * ideal_bytes + 200,
        "actual_bpb": 8 * len(blob) / len(data), "ideal_bpb": comp.ideal_bits / len(data),
        "score_bpb": score.bits_per_byte, "round_trip_ok": out == data,
        "compress_s": comp.seconds, "decompress_s": c.last.seconds,
    }
    for k, v in result.items():
        print(f"{k:>22}: {v}")
    return result


SETTINGS = {  # name -> Compressor options
    # independent segments as the coder had them before carried context: float32
    "independent": {"stepper_kind": stepper.GROWING, "dtype": "float32"},
    "carried": {"stepper_kind": stepper.CARRIED, "adapt": None},
    "adapted": {"stepper_kind": stepper.CARRIED},  # the default (dtype: the default for this machine)
    "adapted-float32": {"stepper_kind": stepper.CARRIED, "dtype": "float32"},
}


def carried_table(args, names: list[str], rows_list=(None,)) -> dict:
    """For each setting: container bytes, ideal bits of the coder's own distributions, the scoring
    pass's bits, tokens/s of compress and decompress, and whether the round trip is exact."""
    data = Path(args.file_arg).read_bytes()
    if args.bytes:
        data = data[: args.bytes]
    out = []
    for name in names:
        for rows in rows_list:
            c = Compressor(args.model, context=args.context, batch=args.batches[-1], threads=args.threads,
                           rows=rows, **SETTINGS[name])
            c.loaded()
            row = {"setting": name, "rows_requested": rows, "bytes": len(data)}
            if not args.no_score:
                t = time.perf_counter()
                score = c.score(data, batch=8)
                row.update(score_bpb=score.bits_per_byte, score_s=time.perf_counter() - t)
            with PeakRSS() as mem:
                blob = c.compress(data)
            comp = c.last
            header = container.read_header(blob)
            row.update(stepper=header.get("stepper"), dtype=header["dtype"], rows=header["batch"],
                       keep=header.get("keep"),
                       adapt=header.get("adapt"), frontend=header.get("frontend"),
                       tokens=comp.tokens, container_bytes=len(blob),
                       container_bpb=8 * len(blob) / len(data), ideal_bpb=comp.ideal_bits / len(data),
                       compress_s=comp.seconds, compress_tok_s=comp.tokens / comp.seconds,
                       compress_peak_mib=mem.peak / 2**20,
                       model_step=step_path(c.loaded(dtype=header["dtype"]).model, header))
            if not args.no_decompress:
                back = c.decompress(blob)
                row.update(decompress_s=c.last.seconds, decompress_tok_s=comp.tokens / c.last.seconds,
                           round_trip_ok=back == data)
            out.append(row)
            print(f"{name:15s} rows {row['rows']:>3} | {row['tokens']:>6} tok | container "
                  f"{row['container_bpb']:.4f} bpb ({row['container_bytes']} B) ideal {row['ideal_bpb']:.4f}"
                  + (f" score {row['score_bpb']:.4f}" if "score_bpb" in row else "")
                  + f" | compress {row['compress_tok_s']:.1f} tok/s"
                  + (f" decompress {row['decompress_tok_s']:.1f} tok/s ok={row['round_trip_ok']}"
                     if "decompress_s" in row else ""), flush=True)
    return {"file": args.file_arg, "bytes": len(data), "rows": out}


def step_path(model, header: dict) -> str:
    """Which one-token step coded a container: the lean replica or transformers' forward (or both,
    per batch). A batch's rows are its share of the balanced layout, not the header's `batch` (the
    most): 39 independent segments at batch 32 are stepped as 20 and 19 rows."""
    rows = {end - start for start, end in container.segment_ranges(len(header["segments"]), header["batch"])}
    paths = {"lean" if llamastep.in_use(model, r) else "transformers" for r in rows}
    return paths.pop() if len(paths) == 1 else "mixed"


def step_ab(args) -> dict:
    """Lean step against transformers' forward, alternating, on the same input and settings."""
    data = Path(args.file).read_bytes()
    if args.bytes:
        data = data[: args.bytes]
    c = Compressor(args.model, context=args.context, threads=args.threads, rows=args.rows,
                   stepper_kind=stepper.CARRIED)
    lm = c.loaded()
    t = time.perf_counter()
    c.compress(data)  # warm-up, not timed: the process's first compression pays one-off costs
    warmup_s = time.perf_counter() - t
    runs, blobs = [], set()
    for i in range(args.step_ab):
        for lean in ((True, False) if i % 2 == 0 else (False, True)):  # alternate who goes first
            os.environ["LMCOMPRESS_LEAN_STEP"] = "1" if lean else "0"
            blob = c.compress(data)
            runs.append({"pair": i, "model_step": step_path(lm.model, container.read_header(blob)),
                         "seconds": c.last.seconds, "tokens": c.last.tokens,
                         "tok_s": c.last.tokens / c.last.seconds, "container_bytes": len(blob)})
            blobs.add(blob)
            print(f"pair {i} {runs[-1]['model_step']:>12}: {runs[-1]['tok_s']:.1f} tok/s", flush=True)
    os.environ.pop("LMCOMPRESS_LEAN_STEP", None)
    pairs: dict[int, dict[str, float]] = {}
    for run in runs:
        pairs.setdefault(run["pair"], {})[run["model_step"]] = run["tok_s"]
    if any(set(p) != {"lean", "transformers"} for p in pairs.values()):
        raise SystemExit(f"the lean step did not verify for {args.model}: nothing to compare")
    ratios = sorted(p["lean"] / p["transformers"] for p in pairs.values())
    header = container.read_header(next(iter(blobs)))
    return {"file": args.file, "bytes": len(data), "rows": header["batch"], "keep": header.get("keep"),
            "adapt": header.get("adapt"), "containers_identical": len(blobs) == 1, "warmup_s": warmup_s,
            "runs": runs,
            "lean_over_transformers_median": ratios[len(ratios) // 2], "ratios": ratios}


def line_ends(args) -> dict:
    """Scoring pass, default line-end coding against the bytes as they are, per file."""
    from compress.core import frontends

    c = Compressor(args.model, context=args.context, threads=args.threads)
    out = []
    for path in args.line_ends.split(","):
        data = Path(path).read_bytes()
        if args.bytes:
            data = data[: args.bytes]
        for newlines in ("auto", "keep"):
            _, extras = frontends.get("text", newlines=newlines).split(data)
            t = time.perf_counter()
            s = c.score(data, newlines=newlines)
            out.append({"file": path, "bytes": len(data), "newlines": newlines, "frontend": extras,
                        "tokens": s.tokens, "bits": s.bits, "bpb": s.bits / len(data),
                        "score_s": time.perf_counter() - t})
            print(f"{Path(path).name:14s} {newlines:5s} {str(extras or '-'):24} {s.tokens:>7} tok "
                  f"{s.bits / len(data):.4f} bpb", flush=True)
    return {"rows": out}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--file", default=str(DEFAULT_FILE))
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--context", type=int, default=None,
                   help="positions (default: the coder's default for each setting)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batches", default="1,8,32")
    p.add_argument("--overhead", metavar="FILE", help="measure whole-file overhead instead")
    p.add_argument("--carried", metavar="FILE", help="independent vs carried vs carried + adaptation")
    p.add_argument("--rows-curve", metavar="R,R,...", help="carried + adaptation at these row counts")
    p.add_argument("--settings", default="independent,carried,adapted")
    p.add_argument("--bytes", type=int, default=0, help="--carried/--rows-curve: first N bytes only")
    p.add_argument("--no-score", action="store_true", help="--carried: skip the scoring pass")
    p.add_argument("--no-decompress", action="store_true", help="--carried: skip decompression")
    p.add_argument("--step-ab", type=int, default=0, help="pairs of lean / transformers' step runs")
    p.add_argument("--rows", type=int, default=None, help="--step-ab: rows (default: auto)")
    p.add_argument("--line-ends", metavar="FILE,FILE", help="CRLF coded as LF vs as is, scoring pass")
    p.add_argument("--out", default=None, help="JSON path (default bench/results/engine*.json)")
    args = p.parse_args()
    args.batches = [int(b) for b in args.batches.split(",")]
    meta = {"loadavg_1_5_15_at_start": os.getloadavg(), "machine": machine(), "model": args.model,
            "context": args.context, "threads": args.threads, "stepper": stepper.DEFAULT,
            "libraries": library_versions(),
            "command": " ".join([Path(sys.executable).name] + sys.argv)}
    if args.line_ends:
        result = {**meta, **line_ends(args), "loadavg_1_5_15_at_end": os.getloadavg()}
        out = args.out or ROOT / "bench" / "results" / "engine_line_ends.json"
    elif args.step_ab:
        result = {**meta, **step_ab(args)}
        out = args.out or ROOT / "bench" / "results" / f"engine_step_ab_{Path(args.file).stem}.json"
    elif args.carried or args.rows_curve:
        args.file_arg = args.carried or args.file
        suffix = f"_{args.bytes}B" if args.bytes else ""
        if args.rows_curve:
            rows = [int(r) for r in args.rows_curve.split(",")]
            result = {**meta, **carried_table(args, ["adapted"], rows)}
            name = f"engine_rows_curve_{Path(args.file_arg).stem}{suffix}.json"
        else:
            result = {**meta, **carried_table(args, args.settings.split(","))}
            name = f"engine_carried_{Path(args.file_arg).stem}{suffix}.json"
        result["loadavg_1_5_15_at_end"] = os.getloadavg()
        out = args.out or ROOT / "bench" / "results" / name
    elif args.overhead:
        result = {**meta, **overhead(args)}
        out = args.out or ROOT / "bench" / "results" / f"engine_overhead_{Path(args.overhead).stem}.json"
    else:
        result = {**meta, "file": args.file, **throughput(args)}
        out = args.out or ROOT / "bench" / "results" / "engine_throughput.json"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
