"""`lmcompress`: the command line, with gzip/xz/zstd conventions.

Parsing and file policy live here; the engine never touches the file system. Policy: inputs are
kept unless --rm, existing outputs are never overwritten without -f, outputs are written to a
temporary file in the target directory and renamed into place only after success (an interrupted
run leaves no output that looks valid), binary is never written to a terminal. Exit status:
0 ok, 1 error, 2 warning (the result is fine but something deserves attention).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from . import __version__
from .errors import InputError, LMCompressError

SUFFIX = ".lmc"
EXIT_OK, EXIT_ERROR, EXIT_WARNING = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lmcompress",
        description="Lossless compression with a (LoRA-tuned) causal language model.",
        epilog="FILE.lmc is written beside FILE; '-' or no FILE reads stdin and writes stdout.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="files to (de)compress; '-' for stdin")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("-z", "--compress", action="store_true", help="compress (default)")
    mode.add_argument("-d", "--decompress", action="store_true", help="decompress")
    mode.add_argument("-t", "--test", action="store_true", help="decode fully and verify checksums")
    mode.add_argument("-l", "--list", action="store_true", help="show container header (no model load)")
    p.add_argument("--json", action="store_true", help="with -l: machine-readable JSON")
    p.add_argument("-c", "--stdout", action="store_true", help="write to standard output")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (one input only)")
    p.add_argument("-k", "--keep", action="store_true", default=True, help="keep input files (default)")
    p.add_argument("--rm", action="store_true", help="remove input files after success")
    p.add_argument("-f", "--force", action="store_true",
                   help="overwrite existing outputs; allow binary output to a terminal")
    p.add_argument("-m", "--model", metavar="MODEL", default=None,
                   help="checkpoint dir, base model dir/id, .gguf file or alias (default: smollm2-135m;"
                        " for -d/-t: the model named in the container)")
    p.add_argument("--context", type=int, default=1024, help="tokens per segment incl. prefix (1024)")
    p.add_argument("--batch", type=int, default=32, help="segments coded together (32)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (decode on the same kind)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (recorded in the file)")
    p.add_argument("--modality", default=None,
                   help="text, audio, image or video (default: from the file suffix)")
    p.add_argument("--audio-bits", type=int, choices=[8], default=None,
                   help="LOSSY paper mode: requantise audio to 8-bit 16 kHz mono before coding")
    p.add_argument("-v", "--verbose", action="store_true", help="report sizes, bits per byte, speed")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or warnings")
    p.add_argument("-V", "--version", action="version", version=f"lmcompress {__version__}")
    return p


class Cli:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.status = EXIT_OK
        self._compressor = None

    # -- messages -----------------------------------------------------------------------------
    def info(self, message: str) -> None:
        if not self.args.quiet:
            print(f"lmcompress: {message}", file=sys.stderr)

    def warn(self, message: str) -> None:
        self.status = max(self.status, EXIT_WARNING)
        if not self.args.quiet:
            print(f"lmcompress: warning: {message}", file=sys.stderr)

    # -- engine -------------------------------------------------------------------------------
    def compressor(self):
        if self._compressor is None:
            from .engine import Compressor
            from .models import DEFAULT_MODEL

            a = self.args
            show = not a.quiet and (a.verbose or sys.stderr.isatty())
            self._compressor = Compressor(a.model or DEFAULT_MODEL, context=a.context, batch=a.batch,
                                          dtype=a.dtype, device=a.device, threads=a.threads,
                                          progress=show)
        return self._compressor

    # -- I/O policy ---------------------------------------------------------------------------
    def read_input(self, name: str) -> bytes:
        if name == "-":
            return sys.stdin.buffer.read()
        path = Path(name)
        if not path.exists():
            raise InputError(f"{name}: no such file")
        if path.is_dir():
            raise InputError(f"{name}: is a directory")
        try:
            return path.read_bytes()
        except OSError as exc:
            raise InputError(f"{name}: {exc.strerror or exc}") from None

    def output_path(self, name: str, header: dict | None = None) -> str | None:
        """Where the result goes; None means standard output."""
        a = self.args
        if a.stdout or (name == "-" and not a.output):
            return None
        if a.output:
            return None if a.output == "-" else a.output
        if a.decompress:
            if not name.endswith(SUFFIX):
                raise InputError(f"{name}: unknown suffix (expected {SUFFIX}); use -o or -c")
            stem = name[: -len(SUFFIX)]
            # a front end that rebuilt the file in another format (FLAC in, WAV out) names it so
            new_suffix = ((header or {}).get("frontend") or {}).get("output_suffix")
            if new_suffix and not stem.lower().endswith("." + new_suffix):
                stem = stem.rsplit(".", 1)[0] + "." + new_suffix
            return stem
        return name + SUFFIX

    def write_output(self, target: str | None, data: bytes, source: str) -> None:
        a = self.args
        if target is None:
            if sys.stdout.isatty() and not a.force:
                raise InputError("refusing to write binary data to a terminal (use -o, or -f)")
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        path = Path(target)
        if source != "-" and path.exists() and path.resolve() == Path(source).resolve():
            raise InputError(f"{target}: output would overwrite the input")
        if path.exists() and not a.force:
            raise InputError(f"{target}: already exists (use -f to overwrite)")
        if path.is_dir():
            raise InputError(f"{target}: is a directory")
        write_atomic(path, data)

    # -- actions ------------------------------------------------------------------------------
    def run_one(self, name: str) -> None:
        a = self.args
        if a.list:
            return self.list_one(name)
        # resolve the target before any expensive work, so a name clash fails in milliseconds
        if a.decompress and not (a.stdout or a.output or name == "-") and not name.endswith(SUFFIX):
            raise InputError(f"{name}: unknown suffix (expected {SUFFIX}); use -o or -c")
        data = self.read_input(name)
        header = None
        if a.decompress or a.test:
            from .container import read_header

            header = read_header(data)
        target = None if a.test else self.output_path(name, header)
        if target is not None and Path(target).exists() and not a.force:
            raise InputError(f"{target}: already exists (use -f to overwrite)")
        c = self.compressor()
        if header is not None:
            for message in c.warnings_for(header):
                self.warn(message)
            if header.get("frontend", {}).get("lossy"):
                self.warn(f"{name}: made in a lossy mode; the output is not the original file")
            result = c.decompress(data, model=a.model)
            if a.test:
                if a.verbose:
                    self.info(f"{name}: OK ({len(result)} bytes, checksums verified)")
                return
        else:
            modality = a.modality or self.guess_modality(name)
            options = {}
            if a.audio_bits is not None:
                if modality != "audio":
                    raise InputError("--audio-bits applies to audio input only")
                options["audio_bits"] = a.audio_bits
            result = c.compress(data, modality=modality, **options)
        self.write_output(target, result, name)
        if a.verbose:
            self.report(name, data, result)
        if a.rm and name != "-" and target is not None:
            os.unlink(name)

    def guess_modality(self, name: str) -> str:
        from . import frontends

        return frontends.guess(None if name == "-" else name)

    def report(self, name: str, data: bytes, result: bytes) -> None:
        stats = self.compressor().last
        raw, packed = (len(data), len(result)) if not self.args.decompress else (len(result), len(data))
        bpb = 8 * packed / raw if raw else 0.0
        speed = raw / stats.seconds if stats.seconds else 0.0
        self.info(f"{name}: {raw} -> {packed} bytes, {bpb:.4f} bits/byte, ratio "
                  f"{(raw / packed) if packed else 0:.3f}, {stats.tokens} tokens, "
                  f"{stats.seconds:.1f} s ({speed:.0f} B/s)")

    def list_one(self, name: str) -> None:
        from .container import header_stepper, read_header, stored_header_length

        blob = self.read_input(name)
        header = read_header(blob)
        summary = {
            "file": name,
            "container_bytes": len(blob),
            "header_bytes": stored_header_length(blob),
            "original_bytes": header["original_length"],
            "ratio": header["original_length"] / len(blob) if blob else 0.0,
            "bits_per_byte": 8 * len(blob) / header["original_length"] if header["original_length"] else 0.0,
            "lossy": bool(header.get("frontend", {}).get("lossy")),
            "header": header,
        }
        if self.args.json:
            print(json.dumps(summary, indent=2, sort_keys=True))
            return
        h = header
        adapter = (h.get("adapter") or {}).get("sha256")
        lines = [
            f"{name}",
            f"  original     {h['original_length']} bytes  sha256 {h['original_sha256'][:16]}…",
            f"  compressed   {len(blob)} bytes (header {summary['header_bytes']})  "
            f"ratio {summary['ratio']:.3f}  {summary['bits_per_byte']:.4f} bits/byte",
            f"  modality     {h['modality']} ({h['symbolizer']})"
            + ("  LOSSY preprocessing: output is not the original" if summary["lossy"] else ""),
            f"  model        {h['model'].get('id')}  sha256 {str(h['model'].get('sha256'))[:16]}…",
            f"  adapter      {adapter[:16] + '…' if adapter else 'none'}",
            f"  settings     context {h['context']}, batch {h['batch']}, {h['dtype']}, "
            f"{h['threads']} threads, {h.get('device', '?')}",
            f"  coding       {len(h['segments'])} segments, {sum(h['segments'])} tokens, "
            f"{len(h['batches'])} batches, quantizer {h['quantizer']}, "
            f"stepper {header_stepper(h)}",
        ]
        extras = h.get("frontend") or {}
        notes = [extras["note"]] if extras.get("note") else []
        if extras.get("reencoded") and not notes:
            notes.append("content is exact; the file's byte layout is re-encoded on output")
        from . import frontends

        describe = getattr(frontends.frontend_class(h.get("modality")), "describe", None)
        if describe is not None:  # the front end's own lines (they include its note)
            notes = [n for n in notes if n not in extras.get("note", "")] + describe(extras)
        lines += [f"  note         {n}" for n in notes]
        print("\n".join(lines))

    def run(self) -> int:
        a = self.args
        files = a.files or ["-"]
        if a.output and len(files) > 1:
            raise InputError("-o takes one input file")
        for name in files:
            try:
                self.run_one(name)
            except LMCompressError as exc:
                print(f"lmcompress: {exc}", file=sys.stderr)
                self.status = EXIT_ERROR
        return self.status


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same directory, fsync, rename."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.context < 4:
        parser.error("--context must be at least 4")
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.rm:
        args.keep = False
    try:
        return Cli(args).run()
    except LMCompressError as exc:
        print(f"lmcompress: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("lmcompress: interrupted; no output written", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        print("lmcompress: out of memory", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
