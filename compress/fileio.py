"""File policy for the command line, apart from the codec (as zstd keeps fileio.c apart from lib/).

Rules, each because losing or exposing data is worse than refusing:
- inputs are regular files (or stdin), read through one descriptor after checking what it is, and
  never more than the format's limit (a FIFO or /dev/zero cannot make us read forever);
- outputs are written to a temporary file in the target directory, fsynced, given the input's
  permission bits and modification time (as gzip/xz/zstd do), and renamed into place: an
  interrupted or failed write leaves no output that looks valid, and nothing is overwritten
  without -f;
- the decompressed name is the container's own base name without `.lmc`, in the container's own
  directory; a front end may change its extension only to one of OUTPUT_SUFFIXES;
- an input is removed (--rm) only after its output has been read back from disk byte-identical.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from compress.core.container import MAX_ORIGINAL
from compress.core.errors import InputError

SUFFIX = ".lmc"
OUTPUT_SUFFIXES = ("wav",)  # extensions a container may ask for (FLAC in, WAV out)
# a container can be larger than its input (escaped bytes cost up to 3 tokens each); this is the
# most any input the decoder or encoder would accept can take
MAX_READ = 8 * MAX_ORIGINAL
_CHUNK = 1 << 20


class PathError(InputError):
    """An InputError about a path other than the input (an output name, say)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path


def describe_os_error(exc: OSError, name: str) -> str:
    """One line for a file-system failure, naming the file it happened on."""
    where = exc.filename if isinstance(exc.filename, str) and exc.filename else name
    if where == "-":
        where = "(stdin)"
    reason = exc.strerror or os.strerror(exc.errno) if exc.errno else str(exc)
    if exc.errno == errno.EFBIG:
        reason = "file too large for this file system or the file-size limit (ulimit -f)"
    return f"{where}: {reason}"


def _read_limited(stream, limit: int, label: str) -> bytes:
    chunks, total = [], 0
    while True:
        block = stream.read(_CHUNK)
        if not block:
            return b"".join(chunks)
        total += len(block)
        if total > limit:
            raise InputError(f"{label}: input is larger than lmcompress accepts ({limit} bytes)")
        chunks.append(block)


def read_input(name: str) -> tuple[bytes, os.stat_result | None]:
    """(bytes, stat of the file or None for stdin). Only regular files are read."""
    if name == "-":
        return _read_limited(sys.stdin.buffer, MAX_READ, "(stdin)"), None
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{name}: is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{name}: not a regular file (use '-' and a redirection for streams)")
        if info.st_size > MAX_READ:
            raise InputError(f"{name}: input is larger than lmcompress accepts ({MAX_READ} bytes)")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb", buffering=0) as f:
        return _read_limited(f, MAX_READ, name), info


def decompressed_name(name: str, suffix: str | None) -> str:
    """FILE.lmc -> FILE in the same directory; with a front end's `suffix` (allow-listed), the
    name's last extension becomes it (song.flac.lmc -> song.wav)."""
    path = Path(name)
    if not path.name.endswith(SUFFIX):
        raise InputError(f"{name}: unknown suffix (expected {SUFFIX}); use -o or -c")
    stem = path.name[: -len(SUFFIX)]
    if suffix is not None:
        if suffix not in OUTPUT_SUFFIXES:  # the header schema allows no other; never trust it here
            raise InputError(f"{name}: the container asks for an output suffix that is not allowed")
        if not stem.lower().endswith("." + suffix):
            base = stem.rsplit(".", 1)[0] if "." in stem[1:] else stem
            stem = f"{base}.{suffix}"
    if stem in ("", ".", ".."):
        raise InputError(f"{name}: no file name is left after removing {SUFFIX}; use -o or -c")
    return str(path.with_name(stem))


def check_target(target: str, source: str, *, force: bool) -> None:
    """Refuse an output that would overwrite the input, an existing file (without -f), or a dir."""
    path = Path(target)
    if source != "-" and path.exists() and path.resolve() == Path(source).resolve():
        raise PathError(target, "output would overwrite the input")
    if path.is_dir():
        raise PathError(target, "is a directory")
    if path.exists() and not force:
        raise PathError(target, "already exists (use -f to overwrite)")


def write_output(target: str | None, data: bytes, *, force: bool, like: os.stat_result | None) -> None:
    """Write to `target` atomically (None: stdout), with the mode and mtime of `like`."""
    if target is None:
        if sys.stdout.isatty() and not force:
            raise InputError("refusing to write binary data to a terminal (use -o, or -f)")
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    write_atomic(Path(target), data, like=like)


def write_atomic(path: Path, data: bytes, *, like: os.stat_result | None = None) -> None:
    """Write `data` to `path` via a temporary file in the same directory: write, fsync, copy the
    mode and times of `like`, rename. On any failure the temporary file is removed and the error
    (an OSError naming the target) propagates; `path` is untouched."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if like is not None:
            os.chmod(tmp, stat.S_IMODE(like.st_mode))
            os.utime(tmp, ns=(like.st_atime_ns, like.st_mtime_ns))
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise


def read_back(target: str, expected: bytes) -> bytes:
    """The output as it is on disk; InputError unless it is exactly what was written."""
    back, _ = read_input(target)
    if back != expected:
        raise PathError(target, "the written output does not read back identical; input kept")
    return back


def remove_input(name: str) -> None:
    os.unlink(name)


def silence_stdout() -> None:
    """After the reader of our stdout has gone: send what Python still flushes at exit nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
