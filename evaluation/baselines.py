"""Classical general-purpose compressors on the same bytes as the model, for comparison.

Why: a bits-per-byte figure means little without what the usual tools achieve on the very same
bytes. Each codec runs as the system tool (subprocess, on a temporary file), at its strongest
setting; the output is decompressed again and compared with the input, so a reported size is one
that really round-trips. A tool that is not installed is reported as "missing" (install them with
`make baselines-setup`), never as a failure of the whole comparison.

    python -m evaluation.baselines FILE [--json OUT]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Codec:
    name: str
    tool: str
    compress: tuple[str, ...]    # argv; {src} input file, {dst} output file
    decompress: tuple[str, ...]  # argv; {dst} compressed file, {out} where the bytes come back
    stdout: bool = True          # the compress command writes to stdout (else to {dst} itself)
    unpack_stdout: bool = True   # the decompress command writes to stdout (else to {out})
    note: str = ""


# strongest standard settings; -T1 / single thread where the tool offers it, so sizes are stable
CODECS = (
    Codec("gzip -9", "gzip", ("gzip", "-9", "-n", "-c", "{src}"), ("gzip", "-d", "-c", "{dst}")),
    Codec("bzip2 -9", "bzip2", ("bzip2", "-9", "-c", "{src}"), ("bzip2", "-d", "-c", "{dst}")),
    Codec("xz -9e", "xz", ("xz", "-9e", "-T1", "-c", "{src}"), ("xz", "-d", "-c", "{dst}")),
    Codec("zstd --ultra -22", "zstd", ("zstd", "--ultra", "-22", "-q", "-c", "{src}"),
          ("zstd", "-d", "-q", "-c", "{dst}")),
    Codec("brotli -q 11 -w 24", "brotli", ("brotli", "-q", "11", "-w", "24", "-c", "{src}"),
          ("brotli", "-d", "-c", "{dst}")),
    Codec("7z -mx9", "7z", ("7z", "a", "-t7z", "-mx=9", "-bd", "-y", "{dst}", "{src}"),
          ("7z", "e", "-so", "{dst}"), stdout=False, note="7z archive (includes the archive header)"),
    Codec("zpaq -m5", "zpaq", ("zpaq", "a", "{dst}", "{src}", "-m5", "-t1"),
          ("zpaq", "x", "{dst}", "{src}", "-to", "{out}"), stdout=False, unpack_stdout=False,
          note="zpaq archive (includes the journal header)"),
)


@dataclass
class Result:
    codec: str
    status: str                  # ok | missing | failed
    bytes: int = 0
    compressed_bytes: int | None = None
    bits_per_byte: float | None = None
    ratio: float | None = None
    roundtrip_ok: bool | None = None
    compress_seconds: float | None = None
    decompress_seconds: float | None = None
    compress_bytes_per_s: float | None = None
    command: str = ""
    error: str = ""
    extra: dict = field(default_factory=dict)


def _fill(argv, **paths) -> list[str]:
    return [a.format(**paths) for a in argv]


def run_codec(codec: Codec, data: bytes, *, verify: bool = True, tool_path: str | None = None) -> Result:
    """Compress `data` with one codec (and decompress + compare when `verify`)."""
    exe = tool_path or shutil.which(codec.tool)
    cmd = " ".join(codec.compress).replace("{src}", "IN").replace("{dst}", "OUT")
    if exe is None:
        return Result(codec.name, "missing", len(data), command=cmd,
                      error=f"{codec.tool} not installed (make baselines-setup)")
    with tempfile.TemporaryDirectory(prefix="lmc-baseline-") as tmp:
        tmpd = Path(tmp)
        src, dst, out = tmpd / "input", tmpd / "input.cmp", tmpd / "back"
        src.write_bytes(data)
        paths = {"src": src.name, "dst": dst.name, "out": out.name}
        try:
            t0 = time.perf_counter()
            argv = [exe, *_fill(codec.compress, **paths)[1:]]
            if codec.stdout:
                with open(dst, "wb") as fh:
                    subprocess.run(argv, cwd=tmpd, stdout=fh, stderr=subprocess.PIPE, check=True)
            else:
                subprocess.run(argv, cwd=tmpd, capture_output=True, check=True)
            t1 = time.perf_counter()
            size = dst.stat().st_size
            res = Result(codec.name, "ok", len(data), size, 8 * size / len(data) if data else None,
                         len(data) / size if size else None, command=cmd, compress_seconds=t1 - t0,
                         compress_bytes_per_s=len(data) / (t1 - t0) if t1 > t0 else None,
                         extra={"note": codec.note} if codec.note else {})
            if verify:
                argv = [exe, *_fill(codec.decompress, **paths)[1:]]
                t0 = time.perf_counter()
                proc = subprocess.run(argv, cwd=tmpd, capture_output=True, check=True)
                res.decompress_seconds = time.perf_counter() - t0
                back = proc.stdout if codec.unpack_stdout else (out.read_bytes() if out.exists() else b"")
                res.roundtrip_ok = back == data
                if not res.roundtrip_ok:
                    res.status = "failed"
                    res.error = "decompressed bytes differ from the input"
            return res
        except subprocess.CalledProcessError as exc:
            msg = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
            return Result(codec.name, "failed", len(data), command=cmd,
                          error=(msg[-1] if msg else f"exit status {exc.returncode}")[:300])


def run_all(data: bytes, *, codecs=CODECS, verify: bool = True) -> list[Result]:
    return [run_codec(c, data, verify=verify) for c in codecs]


def as_dicts(results: list[Result]) -> list[dict]:
    return [asdict(r) for r in results]


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m evaluation.baselines", description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"lmcompress-baselines: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    results = run_all(data)
    for r in results:
        if r.status == "ok":
            print(f"{r.codec:20s} {r.compressed_bytes:>10d} B  {r.bits_per_byte:.4f} bpb  "
                  f"round trip {'ok' if r.roundtrip_ok else '-'}")
        else:
            print(f"{r.codec:20s} {r.status}: {r.error}")
    if args.json:
        Path(args.json).write_text(json.dumps({"bytes": len(data), "results": as_dicts(results)}, indent=2))
    return 0 if all(r.status != "failed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
