"""`lmcompress`: the command line, with gzip/xz/zstd conventions.

Parsing and messages live here; file policy (names, reading, atomic writes, permissions, removal)
lives in compress/fileio.py; the engine never touches the file system. Exit status: 0 ok, 1 error
(usage errors included, as gzip), 2 warning (the result is fine but something deserves attention).
Every error is one line on stderr that names the file it is about; one bad input never stops the
others.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings

from compress import fileio
from compress.core import __version__, compact
from compress.core.errors import InputError, LMCompressError

SUFFIX = fileio.SUFFIX
EXIT_OK, EXIT_ERROR, EXIT_WARNING = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 1 (gzip's convention; 2 means "warning" here)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"lmcompress: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
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
    keep = p.add_mutually_exclusive_group()
    # -k only says the default out loud (gzip's habit); both write `rm`, so nothing is left unread
    keep.add_argument("-k", "--keep", dest="rm", action="store_false", default=False,
                      help="keep input files (the default)")
    keep.add_argument("--rm", dest="rm", action="store_true", default=False,
                      help="remove each input once its output is written, read back and checked")
    p.add_argument("-f", "--force", action="store_true",
                   help="overwrite existing outputs; allow binary output to a terminal")
    p.add_argument("-m", "--model", metavar="MODEL", default=None,
                   help="checkpoint dir, base model dir/id, .gguf file or alias (default: smollm2-135m;"
                        " for -d/-t: needed unless the container names the embedded alias)")
    p.add_argument("--context", type=int, default=None,
                   help="positions the model sees, prefix token included (default 2048 with carried context,"
                        " 1024 with independent segments, or the model's limit if smaller)")
    p.add_argument("--batch", type=int, default=None,
                   help="segments coded together with independent segments (default 32; images 256,"
                        " video 1024)")
    # the format's table less kv-static/1, which old containers name and the decoder keeps, but which
    # kv-growing/2 replaced for new ones (the same independent segments, half the KV reads)
    p.add_argument("--stepper", default=None, choices=compact.STEPPERS[1:],
                   help="kv-carried/3 (default; video: kv-growing/2; images: kv-primed/1): rows carry"
                        " context through the file and adapt to it; kv-growing/2: independent segments"
                        " (frame-level random access for video; online tuning); kv-primed/1: the same"
                        " in striped batches, each segment after the first batch primed with the"
                        " tokens before it")
    p.add_argument("--rows", type=int, default=None,
                   help="carried context: rows coded in parallel (default: one per 2560 tokens, at"
                        " most 32); fewer rows are stronger and slower")
    p.add_argument("--carry", type=int, default=None, metavar="N",
                   help="carried context: tokens kept when a row's window re-primes (default: a quarter of"
                        " the context)")
    p.add_argument("--no-adapt", action="store_true",
                   help="carried context: no online n-gram/match mixture beside the model")
    # the format's id table (torch-free; tests pin it to compress.core.online.VERSIONS)
    p.add_argument("--tune", default=None, choices=["none", *compact.TUNES],
                   help="independent segments: fine-tune a copy of the model on each batch coded before"
                        " coding the next (default: adam/7 for images, adam/1 for video, else none; none"
                        " keeps frame-level random access cheap)")
    p.add_argument("--mix", default=None, choices=["none", *compact.MIXES],
                   help="8-bit images coded in independent segments: mix the model with classical features"
                        " of the decoded neighbourhood, weights learned from the file (default: pixel-mix/1"
                        " for images coded as prediction residuals, else none)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16", "bf16-linear"],
                   help="weights and arithmetic (recorded in the file; default: bf16-linear, a float32 model"
                        " whose linear layers multiply in bfloat16, for text on CPUs with AMX or AVX512-BF16,"
                        " else float32;"
                        " media keep float32)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (decode on the same kind)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (recorded in the file)")
    p.add_argument("--modality", default=None,
                   help="text, bytes (one token per byte), audio, image or video (default: from the suffix)")
    p.add_argument("--keep-line-ends", action="store_true",
                   help="text: code CRLF line ends as they are (default: a file whose every line ends in"
                        " CRLF is coded as LF text and the CRs restored on decoding)")
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
            from compress.core.engine import Compressor

            a = self.args
            show = not a.quiet and (a.verbose or sys.stderr.isatty())
            from compress.core.engine import AUTO

            self._compressor = Compressor(a.model, context=a.context, batch=a.batch, dtype=a.dtype,
                                          device=a.device, threads=a.threads, progress=show,
                                          stepper_kind=a.stepper or AUTO, rows=a.rows,
                                          keep=a.carry, adapt=None if a.no_adapt else AUTO,
                                          tune=AUTO if a.tune is None else (None if a.tune == "none" else a.tune),
                                          mix=AUTO if a.mix is None else (None if a.mix == "none" else a.mix))
        return self._compressor

    def output_path(self, name: str, header: dict | None = None) -> str | None:
        """Where the result goes; None means standard output."""
        a = self.args
        if a.stdout or (name == "-" and not a.output):
            return None
        if a.output:
            return None if a.output == "-" else a.output
        if a.decompress:
            suffix = ((header or {}).get("frontend") or {}).get("output_suffix")
            return fileio.decompressed_name(name, suffix)
        return name + SUFFIX

    # -- actions ------------------------------------------------------------------------------
    def run_one(self, name: str) -> None:
        a = self.args
        if a.list:
            return self.list_one(name)
        # resolve the target before any expensive work, so a name clash fails in milliseconds
        if a.decompress and not (a.stdout or a.output or name == "-"):
            fileio.decompressed_name(name, None)
        data, source = fileio.read_input(name)
        header = None
        if a.decompress or a.test:
            from compress.core.frontends import read_header

            header = read_header(data)
        target = None if a.test else self.output_path(name, header)
        if target is not None:
            fileio.check_target(target, name, force=a.force)
        c = self.compressor()
        if header is not None:
            for message in c.warnings_for(header):
                self.warn(f"{name}: {message}")
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
            if a.keep_line_ends:
                if modality != "text":
                    raise InputError("--keep-line-ends applies to text input only")
                options["newlines"] = "keep"
            result = c.compress(data, modality=modality, **options)
        fileio.write_output(target, result, force=a.force, like=source)
        if a.verbose:
            self.report(name, data, result)
        if a.rm and name != "-" and target is not None:
            # read the output back from disk: the bytes must be the ones written. A container's
            # bytes already passed every check the decoder makes before decoding (compress runs
            # Compressor.check_decodable on exactly them before returning), so identity suffices.
            fileio.read_back(target, result)
            fileio.remove_input(name)

    def guess_modality(self, name: str) -> str:
        from compress.core import frontends

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
        from compress.core import frontends
        from compress.core.container import form, header_stepper, is_stored, stored_header_length

        blob, _ = fileio.read_input(name)
        header = frontends.read_header(blob)
        summary = {
            "file": name,
            "form": form(blob),
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
        if is_stored(h):
            print("\n".join(_printable(line) for line in [
                f"{name}",
                f"  original     {h['original_length']} bytes  crc32 {h['original_crc32']:08x}",
                f"  compressed   {len(blob)} bytes (header {summary['header_bytes']})  "
                f"ratio {summary['ratio']:.3f}  {summary['bits_per_byte']:.4f} bits/byte",
                "  form         stored: the input as is (coding with the model would be larger); "
                "no model needed",
            ]))
            return
        adapter = (h.get("adapter") or {}).get("sha256")
        lines = [
            f"{name}",
            f"  original     {h['original_length']} bytes  sha256 {h['original_sha256'][:16]}…",
            f"  compressed   {len(blob)} bytes (header {summary['header_bytes']})  "
            f"ratio {summary['ratio']:.3f}  {summary['bits_per_byte']:.4f} bits/byte",
            f"  modality     {h['modality']} ({h['symbolizer']})"
            + ("  LOSSY preprocessing: output is not the original" if summary["lossy"] else ""),
            f"  form         {summary['form']}" + (_COMPACT_NOTE if summary["form"] == "compact" else ""),
            f"  model        {h['model']['id'] or '(not recorded)'}  sha256 {h['model']['sha256'][:16]}…",
            f"  adapter      {adapter[:16] + '…' if adapter else 'none'}",
            f"  settings     context {h['context']}, batch {h['batch']}, {h['dtype']}, "
            f"{h['threads']} threads, {h.get('device', '?')}",
            f"  coding       {len(h['segments'])} segments, {sum(h['segments'])} tokens, "
            f"{len(h['batches'])} batches, quantizer {h['quantizer']}, "
            f"stepper {header_stepper(h)}"
            + (f" (keep {h['keep']}, adapt {h['adapt'] or 'none'})" if "keep" in h else "")
            + (f", online tuning {h['tune']}" if "tune" in h else "")
            + (f", pixel mixing {h['mix']}" if "mix" in h else ""),
        ]
        extras = h.get("frontend", {})
        notes = [extras["note"]] if extras.get("note") else []
        if extras.get("reencoded") and not notes:
            notes.append("content is exact; the file's byte layout is re-encoded on output")
        describe = getattr(frontends.frontend_class(h["modality"]), "describe", None)
        if describe is not None:  # the front end's own lines (they include its note)
            notes = [n for n in notes if n not in extras.get("note", "")] + describe(extras)
        lines += [f"  note         {n}" for n in notes]
        print("\n".join(_printable(line) for line in lines))

    def run(self) -> int:
        a = self.args
        files = a.files or ["-"]
        if a.output is not None and len(files) > 1:
            raise InputError("-o takes one input file")
        if a.stdout and len(files) > 1 and not (a.decompress or a.test or a.list):
            raise InputError("-c with several inputs would write several containers into one stream; "
                             "compress one file per command (decompressing several with -c concatenates)")
        for name in files:
            try:
                self.run_one(name)
            except LMCompressError as exc:
                print(f"lmcompress: {_about(exc, name)}", file=sys.stderr)
                self.status = EXIT_ERROR
            except OSError as exc:
                if isinstance(exc, BrokenPipeError):
                    raise
                print(f"lmcompress: {fileio.describe_os_error(exc, name)}", file=sys.stderr)
                self.status = EXIT_ERROR
        return self.status


_COMPACT_NOTE = " (model named only if an embedded alias; library versions not recorded)"


def _printable(text: str) -> str:
    """Header strings shown to a person: control characters (terminal escapes) as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _about(exc: LMCompressError, name: str) -> str:
    """The error line, naming the file it is about (the input, unless it names another path)."""
    text = str(exc)
    path = getattr(exc, "path", None)
    if path is not None:
        return text if text.startswith(f"{path}:") else f"{path}: {text}"
    label = "(stdin)" if name == "-" else name
    return text if text.startswith(f"{label}:") else f"{label}: {text}"


def _quiet_libraries(quiet: bool) -> None:
    """Library deprecation chatter is for developers, never for users of the command; with -q
    nothing at all is printed on success (warnings, transformers' progress bars included)."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    if quiet:
        warnings.simplefilter("ignore")
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        os.environ["TQDM_DISABLE"] = "1"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.output == "":
        parser.error("-o needs a file name")
    if args.context is not None and args.context < 4:
        parser.error("--context must be at least 4")
    if args.batch is not None and args.batch < 1:
        parser.error("--batch must be at least 1")
    if args.rows is not None and args.rows < 1:
        parser.error("--rows must be at least 1")
    if args.carry is not None and args.carry < 0:
        parser.error("--carry must be at least 0")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    _quiet_libraries(args.quiet)
    if hasattr(signal, "SIGXFSZ"):  # a file-size limit becomes an OSError (EFBIG), not a kill
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        if args.device != "cpu":
            from compress.core.engine import check_device

            check_device(args.device)
        return Cli(args).run()
    except LMCompressError as exc:
        print(f"lmcompress: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `lmcompress -l --json x | head`: the reader left; end quietly
        fileio.silence_stdout()
        return EXIT_ERROR
    except KeyboardInterrupt:
        # temporary outputs are already removed (fileio.write_atomic); exit now with status 1,
        # before interpreter shutdown can turn the interrupt into death by SIGINT (-2)
        print("lmcompress: interrupted; no output written", file=sys.stderr, flush=True)
        os._exit(EXIT_ERROR)
    except MemoryError:
        print("lmcompress: out of memory", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
