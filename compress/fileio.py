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
import json
import os
import secrets
import stat
import sys
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


def write_atomic(path: str | os.PathLike, data: bytes, *, like: os.stat_result | None = None) -> None:
    """Write `data` to `path` so that no reader ever sees part of it: the one atomic write (CLI
    outputs, evaluation results, checkpoint manifests, corpus caches).

    A temporary file in the same directory is written and fsynced, given the mode and times of
    `like` (else the mode any new file gets under the umask), renamed over `path`, and the directory
    fsynced so that the rename survives a crash. The temporary file is private (0600) until it has
    `like`'s mode, so the contents of a private input are never readable by others on the way. On
    any failure (an interrupt included) the temporary file is removed and the error propagates, an
    OSError naming `path`; `path` is untouched."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    mode = 0o600 if like is not None else 0o666
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, flags, mode)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
    else:  # pragma: no cover - 100 collisions of 48 random bits
        raise OSError(errno.EEXIST, "no free temporary name", str(path))
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
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable; best effort (some systems cannot open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: str | os.PathLike, data, *, indent: int = 2) -> None:
    """`data` as JSON (one trailing newline) through `write_atomic`, parent directories created:
    a reader never sees half a result or manifest."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(data, indent=indent) + "\n").encode())


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
