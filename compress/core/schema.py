"""Declarative type and range checks for the container header: the decoder's one validation layer.

Why a schema: a container is untrusted input. Before any field is used (to size an allocation,
pick a model, build a file name) it must have the type and range the code assumes, or the decoder
crashes with a traceback, allocates what the attacker asks for, or worse. Writing those checks
beside each use scattered them and missed some; here every field of the core header
(compress/core/container.py) and of every front end's extras (each front end's `EXTRAS`) is described
once, and `check` walks the value against that description and refuses the first field that does
not fit with a ContainerError naming the field. Unknown fields are refused too: a field this
decoder does not know could be one a newer encoder relies on.

The encoder runs the same checks on the header it is about to write (symmetry: nothing written
can fail to read back). Cross-field rules (a payload length that must match the image's
dimensions, say) are the front ends' `check_extras`; this module knows only shapes and ranges.
A JSON-schema library would express the shapes but not those rules, and costs a dependency in
the decode path; the walker below is 80 lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from compress.core.errors import ContainerError

HEX64 = re.compile(r"[0-9a-f]{64}")
BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")  # decodable


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Invalid(Exception):
    def __init__(self, path: str, what: str):
        super().__init__(f"field '{path}' {what}")


def _fail(path: str, what: str):
    raise _Invalid(path, what)


@dataclass(frozen=True)
class Int:
    lo: int = 0
    hi: int = 2**63 - 1


@dataclass(frozen=True)
class Str:
    max_len: int = 256
    pattern: re.Pattern | None = None  # fullmatch
    choices: tuple[str, ...] | None = None
    forbid: str = "\x00"  # characters never allowed (NUL: C-level APIs, file names)
    latin1: bool = False  # file bytes carried as text: every character must be one byte


@dataclass(frozen=True)
class Bool:
    pass


@dataclass(frozen=True)
class List:
    item: object
    max_len: int = 1 << 24
    exact_len: int | None = None


@dataclass(frozen=True)
class Obj:
    fields: dict = field(default_factory=dict)
    optional: frozenset = frozenset()
    open: bool = False  # other keys allowed (and left unchecked: nothing reads them)


@dataclass(frozen=True)
class Nullable:
    inner: object


@dataclass(frozen=True)
class Tuple:
    """A JSON list of fixed length whose entries have the given kinds ([name, count] pairs)."""

    items: tuple


@dataclass(frozen=True)
class Scalar:
    """A string (at most 4096 characters), number, boolean or null: an option's value."""


@dataclass(frozen=True)
class Opaque:
    """Any object (dict); its contents are checked elsewhere (a front end's extras)."""


@dataclass(frozen=True)
class Map:
    """A dict of free-form keys (each a short string) to values of one kind."""

    value: object
    max_items: int = 64
    key_len: int = 64


def check(value, spec, path: str = "", *, error: type = ContainerError,
          what: str = "corrupt header") -> None:
    """Raise `error("<what>: field '<path>' <problem>")` at the first part of `value` that does
    not fit `spec`."""
    try:
        _check(value, spec, path)
    except _Invalid as exc:
        raise error(f"{what}: {exc}") from None


def _check(value, spec, path: str) -> None:
    if isinstance(spec, Nullable):
        if value is not None:
            _check(value, spec.inner, path)
    elif isinstance(spec, Int):
        if not isinstance(value, int) or isinstance(value, bool):
            _fail(path, "is not an integer")
        if not spec.lo <= value <= spec.hi:
            _fail(path, f"is out of range ({spec.lo}..{spec.hi})")
    elif isinstance(spec, Bool):
        if not isinstance(value, bool):
            _fail(path, "is not a boolean")
    elif isinstance(spec, Str):
        if not isinstance(value, str):
            _fail(path, "is not a string")
        if len(value) > spec.max_len:
            _fail(path, f"is longer than {spec.max_len} characters")
        if any(c in value for c in spec.forbid):
            _fail(path, "holds a forbidden character")
        if spec.latin1 and not value.isascii():
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                _fail(path, "holds a character that is not a byte")
        if spec.choices is not None and value not in spec.choices:
            _fail(path, f"is not one of {', '.join(spec.choices)}")
        if spec.pattern is not None and not spec.pattern.fullmatch(value):
            _fail(path, "is malformed")
    elif isinstance(spec, List):
        if not isinstance(value, list):
            _fail(path, "is not a list")
        if len(value) > spec.max_len or (spec.exact_len is not None and len(value) != spec.exact_len):
            _fail(path, "has the wrong number of entries")
        item = spec.item
        if isinstance(item, Int):  # the long lists (segment lengths): one pass, no per-item call
            if not all(type(v) is int and item.lo <= v <= item.hi for v in value):
                _fail(path, f"holds an entry that is not an integer in {item.lo}..{item.hi}")
        else:
            for i, v in enumerate(value):
                _check(v, item, f"{path}[{i}]")
    elif isinstance(spec, Tuple):
        if not isinstance(value, list) or len(value) != len(spec.items):
            _fail(path, f"is not a list of {len(spec.items)} entries")
        for i, (v, item) in enumerate(zip(value, spec.items, strict=True)):
            _check(v, item, f"{path}[{i}]")
    elif isinstance(spec, Scalar):
        if not (value is None or isinstance(value, (bool, int, float))
                or (isinstance(value, str) and len(value) <= 4096)):
            _fail(path, "is not a plain value")
    elif isinstance(spec, Opaque):
        if not isinstance(value, dict):
            _fail(path, "is not an object")
    elif isinstance(spec, Map):
        if not isinstance(value, dict):
            _fail(path, "is not an object")
        if len(value) > spec.max_items:
            _fail(path, "has too many entries")
        for key, v in value.items():
            if len(key) > spec.key_len:
                _fail(path, "has an implausibly long key")
            _check(v, spec.value, _join(path, key))
    elif isinstance(spec, Obj):
        if not isinstance(value, dict):
            _fail(path, "is not an object")
        unknown = [] if spec.open else sorted(set(value) - set(spec.fields))
        if unknown:
            _fail(_join(path, unknown[0][:40]), "is unknown to this lmcompress")
        for name, sub in spec.fields.items():
            if name not in value:
                if name not in spec.optional:
                    _fail(_join(path, name), "is missing")
                continue
            _check(value[name], sub, _join(path, name))
    else:  # pragma: no cover - a programming error in a schema
        raise TypeError(f"unknown schema node {spec!r}")
