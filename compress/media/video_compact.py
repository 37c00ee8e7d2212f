"""The video front end's extras in the compact container header (form `c`, compress/core/compact.py).

Why: in the JSON form a video container's header is ~730 bytes (three full digests, library
versions, the checkpoint's path, the segment table, the y4m lines); on carphone that is 0.06% of
the container, half of what the ratio target still lacked when it was built. The compact core
header plus these extras is ~130 bytes.

What it holds: the y4m stream header line (the geometry, colourspace, plane sizes and frame size
are derived from it again on reading, as the front end's `check_extras` demands they be), the frame
count, the FRAME lines as runs, the payload order, and the group and predictor when present. A
field that does not fit (a header line that does not parse, a derived value that differs) makes
`encode` raise `compact.Unrepresentable`, and the encoder writes the JSON form.

Layout, after the core header (varint = unsigned LEB128; ids index the append-only tuples below,
which are the front end's own ORDERS and PREDICTORS, so they may only ever grow at the end):

    flags           1 byte: 1 a group follows, 2 a predictor follows
    header line     varint length + latin-1 bytes (with its newline)
    frames          varint
    frame lines     run count, then per run: varint length + latin-1 bytes, varint repeat
    order           1 byte id into ORDERS
    group           (flag 1) varint
    predictor       (flag 2) 1 byte id into PREDICTORS

`decode` only parses (bounded by the header's bytes); the values then go through the one validator
(the front end's schema and check_extras), exactly as a JSON header's do.
"""

from __future__ import annotations

from compress.core import compact
from compress.core.errors import ContainerError, InputError
from compress.media import video

FLAG_GROUP, FLAG_PREDICTOR = 1, 2
ORDERS = ("frames", "temporal")                                          # append only
PREDICTORS = ("none", "med", "med-temporal", "mc-temporal", "mc-intra")  # append only
CORE = frozenset({"format", "header", "colourspace", "width", "height", "planes", "frames", "frame_bytes",
                  "frame_lines", "order"})


def encode(extras: dict) -> bytes:
    optional = {k for k in ("group", "predictor") if k in extras}
    if set(extras) != CORE | optional or extras["format"] != "y4m":
        raise compact.Unrepresentable
    line = extras["header"]
    if not isinstance(line, str) or not line.endswith("\n"):
        raise compact.Unrepresentable
    try:
        derived = video.geometry_extras(line[:-1].encode("latin-1"))
    except (InputError, UnicodeEncodeError, ValueError):
        raise compact.Unrepresentable from None
    if any(extras[k] != v for k, v in derived.items()):
        raise compact.Unrepresentable
    if extras["order"] not in ORDERS or extras.get("predictor", "none") not in PREDICTORS:
        raise compact.Unrepresentable
    runs = extras["frame_lines"]
    if not isinstance(runs, list) or not all(isinstance(r, list) and len(r) == 2 for r in runs):
        raise compact.Unrepresentable
    flags = (FLAG_GROUP if "group" in extras else 0) | (FLAG_PREDICTOR if "predictor" in extras else 0)
    parts = [bytes([flags]), compact.latin1_field(line), compact.varint(extras["frames"]), compact.varint(len(runs))]
    for text, count in runs:
        parts += [compact.latin1_field(text), compact.varint(count)]
    parts.append(bytes([ORDERS.index(extras["order"]) + 1]))
    if "group" in extras:
        parts.append(compact.varint(extras["group"]))
    if "predictor" in extras:
        parts.append(bytes([PREDICTORS.index(extras["predictor"]) + 1]))
    return b"".join(parts)


def decode(r: compact.Reader) -> dict:
    flags = r.take(1, "video flags")[0]
    if flags & ~(FLAG_GROUP | FLAG_PREDICTOR):
        raise ContainerError(f"corrupt header: unsupported compact video flags 0x{flags:02x}")
    line = r.field("video header line").decode("latin-1")
    if not line.startswith(video.MAGIC.decode()) or not line.endswith("\n") or "\n" in line[:-1]:
        raise ContainerError("corrupt header: the y4m stream header line is malformed")
    try:
        extras = {"format": "y4m", "header": line, **video.geometry_extras(line[:-1].encode("latin-1"))}
    except InputError as exc:
        raise ContainerError(f"corrupt header: {exc}") from None
    extras["frames"] = r.varint("video frames")
    runs = []
    for _ in range(r.count("video frame line runs", 2)):
        text = r.field("video frame line").decode("latin-1")
        runs.append([text, r.varint("video frame line repeat")])
    extras["frame_lines"] = runs
    extras["order"] = r.choice("video order", ORDERS)
    if flags & FLAG_GROUP:
        extras["group"] = r.varint("video group")
    if flags & FLAG_PREDICTOR:
        extras["predictor"] = r.choice("video predictor", PREDICTORS)
    return extras


compact.register_extras("video", encode, decode)
