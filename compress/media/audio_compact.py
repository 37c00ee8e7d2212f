"""The audio front end's extras in the compact container header (form `c`, compress/core/compact.py).

Why: in the JSON form an audio container's header is ~560 bytes (digests, library versions, the
checkpoint's path, 32 row lengths, the WAV header in base64): 0.7% of a 5-second speech clip's
container, a third of the margin by which the librivox figure beats its target. The compact core
header plus these extras is ~60 bytes.

What it holds: a lossless WAV as the front end splits it, with no predictor or with the fo-nlms/1
predictor and its LMS cascade (`--predictor nlms+lms`, the default). Anything else (LPC tables, the
paper's lossy 8-bit mode, FLAC input re-encoded, notes) makes `encode` raise
`compact.Unrepresentable`, and the encoder writes the JSON form, as before.

Layout, after the core header (varint = unsigned LEB128, ids index the append-only tuples below):

    flags           1 byte: 1 extensible, 2 canonical head (rebuilt from the fields, not stored),
                    4 fo-nlms/1 predictor with its cascade, 8 its stereo entry is mid-side,
                    16 zero_channels follow the cascade
    layout          1 byte: id into LAYOUTS
    channels, rate, bits, width, data_declared, data_present     varints
    head            (unless flag 2) varint length + bytes
    tail            varint length + bytes
    with flag 4:    coef, shift, the 4 nlms parameters (varints); cascade kind (1 byte, id into
                    CASCADES); stage count; taps, shift, step per stage (varints)
    with flag 16:   zero_channels: count, then each index (varints)

`decode` only parses (bounded by the header's bytes); the values then go through the one validator
(the front end's schema and check_extras), exactly as a JSON header's do.
"""

from __future__ import annotations

import base64
import struct

from compress.core import compact
from compress.core.errors import ContainerError
from compress.media import nlms

# append only: an id, once written, keeps its meaning (tests/test_compact_audio.py pins them)
LAYOUTS = ("stored", "stored+planar", "hi-lo", "hi-lo+planar", "hi-lo-offset", "hi-lo-offset+planar")
CASCADES = ("sslms/1", "sslms/2")
FLAG_EXTENSIBLE, FLAG_CANONICAL_HEAD, FLAG_NLMS, FLAG_MID_SIDE, FLAG_ZERO = 1, 2, 4, 8, 16
CORE = frozenset({"container", "channels", "rate", "bits", "width", "extensible", "layout",
                  "data_declared", "data_present", "head", "tail"})
NUMBERS = ("channels", "rate", "bits", "width", "data_declared", "data_present")


def canonical_head(channels: int, rate: int, bits: int, width: int, data_declared: int,
                   tail: int) -> bytes | None:
    """The 44-byte header a plain PCM writer puts before the samples (RIFF size counting the data
    chunk and `tail` more bytes, a 16-byte WAVE_FORMAT_PCM fmt chunk), or None when a field does
    not fit it."""
    align = channels * width
    sizes = (36 + data_declared + tail, rate * align, data_declared)
    if any(not 0 <= n < 1 << 32 for n in sizes) or not 0 < align < 1 << 16 or not 0 < bits < 1 << 16:
        return None
    return (b"RIFF" + struct.pack("<I", sizes[0]) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate,
                                                                              sizes[1], align, bits)
            + b"data" + struct.pack("<I", sizes[2]))


def encode(extras: dict) -> bytes:
    predictor, adaptive = extras.get("predictor"), extras.get("adaptive")
    nl = predictor is not None
    zero = extras.get("zero_channels")
    optional = ({"predictor", "adaptive"} if nl else set()) | ({"zero_channels"} if zero and nl else set())
    if set(extras) != CORE | optional or extras["container"] != "wav":
        raise compact.Unrepresentable
    if extras["layout"] not in LAYOUTS or type(extras["extensible"]) is not bool:
        raise compact.Unrepresentable
    mid_side = nl and predictor.get("stereo") == nlms.MID_SIDE
    if nl and (set(predictor) != {"kind", "coef", "shift", "nlms"} | ({"stereo"} if mid_side else set())
               or predictor["kind"] != nlms.KIND
               or adaptive is None or set(adaptive) != {"kind", "stages"} or adaptive["kind"] not in CASCADES):
        raise compact.Unrepresentable
    try:
        head = base64.b64decode(extras["head"], validate=True)
        tail = base64.b64decode(extras["tail"], validate=True)
    except (ValueError, TypeError):
        raise compact.Unrepresentable from None
    if base64.b64encode(head).decode() != extras["head"] or base64.b64encode(tail).decode() != extras["tail"]:
        raise compact.Unrepresentable  # not canonical base64: it would not come back the same
    values = [extras[k] for k in NUMBERS]
    if any(type(v) is not int for v in values):
        raise compact.Unrepresentable
    canonical = not extras["extensible"] and head == canonical_head(*values[:5], len(tail))
    flags = ((FLAG_EXTENSIBLE if extras["extensible"] else 0) | (FLAG_CANONICAL_HEAD if canonical else 0)
             | (FLAG_NLMS if nl else 0) | (FLAG_MID_SIDE if mid_side else 0) | (FLAG_ZERO if zero else 0))
    parts = [bytes([flags, LAYOUTS.index(extras["layout"]) + 1])] + [compact.varint(v) for v in values]
    parts += [b"" if canonical else compact.field(head), compact.field(tail)]
    if nl:
        params = predictor["nlms"]
        if not isinstance(params, list) or len(params) != 4 or not isinstance(adaptive["stages"], list):
            raise compact.Unrepresentable
        parts += [compact.varint(predictor["coef"]), compact.varint(predictor["shift"])]
        parts += [compact.varint(v) for v in params]
        parts += [bytes([CASCADES.index(adaptive["kind"]) + 1]), compact.varint(len(adaptive["stages"]))]
        for stage in adaptive["stages"]:
            if not isinstance(stage, list) or len(stage) != 3:
                raise compact.Unrepresentable
            parts += [compact.varint(v) for v in stage]
        if zero:
            if not isinstance(zero, list):
                raise compact.Unrepresentable
            parts += [compact.varint(len(zero))] + [compact.varint(v) for v in zero]
    return b"".join(parts)


def decode(r: compact.Reader) -> dict:
    flags = r.take(1, "audio flags")[0]
    if flags & ~(FLAG_EXTENSIBLE | FLAG_CANONICAL_HEAD | FLAG_NLMS | FLAG_MID_SIDE | FLAG_ZERO) or (
            flags & (FLAG_MID_SIDE | FLAG_ZERO) and not flags & FLAG_NLMS):
        raise ContainerError(f"corrupt header: unsupported compact audio flags 0x{flags:02x}")
    extras = {"container": "wav", "extensible": bool(flags & FLAG_EXTENSIBLE),
              "layout": r.choice("audio layout", LAYOUTS)}
    for name in NUMBERS:
        extras[name] = r.varint(f"audio {name}")
    head = None if flags & FLAG_CANONICAL_HEAD else r.field("audio head")
    tail = r.field("audio tail")
    if head is None:
        if extras["extensible"]:
            raise ContainerError("corrupt header: a canonical WAV head cannot be WAVE_FORMAT_EXTENSIBLE")
        head = canonical_head(*(extras[k] for k in NUMBERS[:5]), len(tail))
        if head is None:
            raise ContainerError("corrupt header: the compact audio fields do not fit a canonical WAV head")
    extras["head"] = base64.b64encode(head).decode("ascii")
    extras["tail"] = base64.b64encode(tail).decode("ascii")
    if flags & FLAG_NLMS:
        extras["predictor"] = {"kind": nlms.KIND, "coef": r.varint("nlms coef"), "shift": r.varint("nlms shift"),
                               "nlms": [r.varint("nlms parameters") for _ in range(4)]}
        if flags & FLAG_MID_SIDE:
            extras["predictor"]["stereo"] = nlms.MID_SIDE
        kind = r.choice("audio cascade", CASCADES)
        stages = [[r.varint("cascade stage") for _ in range(3)] for _ in range(r.count("cascade stages", 3))]
        extras["adaptive"] = {"kind": kind, "stages": stages}
        if flags & FLAG_ZERO:
            extras["zero_channels"] = [r.varint("zero channel") for _ in range(r.count("zero channels", 1))]
    return extras


compact.register_extras("audio", encode, decode)
