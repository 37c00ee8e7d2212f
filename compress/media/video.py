"""Video front end: YUV4MPEG2 (.y4m) <-> a payload of raw frame planes, byte for byte.

The stream header line and every FRAME line (with its parameters) are kept verbatim in the
extras, run-length coded. The payload holds the planes (Y, then U, V, and A for 444alpha) in one
of two orders, recorded as extras["order"]:

* frames (default)  frame after frame, each plane's rows concatenated -- exactly the raster the
                    y4m file holds after each FRAME line. Frames are coded independently.
* temporal          groups of `group` frames; within a group, plane by plane and row by row, row r
                    of every frame of the group in turn, so each row follows the same row of the
                    previous frame (the previous frame as context, within a segment).
                    Measured (bench/video_order.py: untuned SmolLM2-135M, fast scoring, 1024-byte
                    segments, 32x32 centre crop of carphone frames 0-7, group 8): 6.239 bits/byte
                    vs 6.628 for frames -- part of it from fewer, fuller segments. Opt-in, since it
                    trades per-frame random access for per-group.

Prediction (`predictor`, recorded in the extras; compress/media/pixelpred.py, integer-only, lossless):

* none          the pixel values themselves (default);
* med           every plane of every frame replaced by its LOCO-I median-edge-detector residuals
                (intra: each frame on its own, as the paper codes frames);
* med-temporal  the first frame of each group of `group` frames as `med`; every later frame's plane
                predicted as previous frame + MED(x - previous frame), the paper's stated future
                work (the previous frame as context). The group becomes the independent unit.
* mc-temporal   the first frame of each group as `med`; every later frame predicted from the two
                before it by quarter-pel block motion compensation (compress/media/motion.py):
                the frame's modes and motion vectors (5 bytes per 8x8 luma block) come first in
                its part of the payload, then its planes' residuals (x - prediction + 128) mod
                256. Frames order only (the payload is no longer frames of equal size).
* mc-intra      mc-temporal with a fourth block mode, intra: the block's pixels predicted by MED
                from the frame's own decoded neighbours, for what neither reference holds
                (uncovered background; x264's intra blocks in P frames); each vector is stored
                only where the block's mode uses it. Frames order only.

Independent units: `segment_breaks` makes the engine end a segment at every unit boundary (a frame,
or a group in temporal order or with med-temporal), so no segment spans two units. Random access to frame k: its unit
occupies payload bytes `unit_range(extras, k)`; the segments covering them are those whose
cumulative lengths (the container header's "segments") fall in that range, and only the batches
holding those segments (segments.layout(n, batch)) need decoding. `read_frame` does exactly that.
"""

from __future__ import annotations

from compress.core import frontends, schema
from compress.core.errors import ContainerError, InputError
from compress.core.symbols import BYTEMAP_VERSION, ByteSymbolizer
from compress.media import motion, pixelpred

MAGIC = b"YUV4MPEG2 "
FRAME = b"FRAME"
# colourspace tag -> (planes as (x subsampling, y subsampling)); 8-bit only
COLOURSPACES = {
    "420jpeg": ((1, 1), (2, 2), (2, 2)),
    "420paldv": ((1, 1), (2, 2), (2, 2)),
    "420mpeg2": ((1, 1), (2, 2), (2, 2)),
    "420": ((1, 1), (2, 2), (2, 2)),
    "422": ((1, 1), (2, 1), (2, 1)),
    "444": ((1, 1), (1, 1), (1, 1)),
    "444alpha": ((1, 1), (1, 1), (1, 1), (1, 1)),
    "mono": ((1, 1),),
}


def parse_header(line: bytes) -> tuple[int, int, str, list[tuple[int, int]]]:
    """(width, height, colourspace, plane sizes) from the stream header line (without newline)."""
    params = {}
    for token in line[len(MAGIC):].split(b" "):
        if token:
            params[chr(token[0])] = token[1:].decode("latin-1")
    try:
        width, height = int(params["W"]), int(params["H"])
    except (KeyError, ValueError):
        raise InputError("malformed y4m header: missing or bad W/H") from None
    if width < 1 or height < 1:
        raise InputError("malformed y4m header: zero width or height")
    colour = params.get("C", "420jpeg")
    if colour not in COLOURSPACES:
        raise InputError(f"unsupported y4m colourspace C{colour} "
                         f"(supported: {', '.join('C' + c for c in COLOURSPACES)})")
    planes = [(-(-width // sx), -(-height // sy)) for sx, sy in COLOURSPACES[colour]]
    return width, height, colour, planes


def geometry_extras(line: bytes) -> dict:
    """The extras the stream header line (without newline) implies: colourspace, width, height,
    plane sizes and frame size. The one derivation: `split` records them, `check_extras` demands
    them, the compact header (compress/media/video_compact.py) rebuilds them instead of storing them."""
    width, height, colour, planes = parse_header(line)
    return {"colourspace": colour, "width": width, "height": height, "planes": [list(p) for p in planes],
            "frame_bytes": sum(w * h for w, h in planes)}


def _runs(lines: list[str]) -> list[list]:
    runs: list[list] = []
    for line in lines:
        if runs and runs[-1][0] == line:
            runs[-1][1] += 1
        else:
            runs.append([line, 1])
    return runs


ORDERS = ("frames", "temporal")
PREDICTORS = ("none", "med", "med-temporal", "mc-temporal", "mc-intra")
MOTION_PREDICTORS = ("mc-temporal", "mc-intra")   # modes and vectors in the payload; frames order only
TEMPORAL_PREDICTORS = ("med-temporal", *MOTION_PREDICTORS)
DEFAULT_GROUP = 8


def _layout_frames(extras: dict) -> int:
    """Frames per group of the temporal payload layout (1: the frames' own raster)."""
    return extras.get("group", 1) if extras.get("order", "frames") == "temporal" else 1


def _unit_frames(extras: dict) -> int:
    """Frames per independently coded unit: a layout group, or a temporal prediction group."""
    if extras.get("predictor") in TEMPORAL_PREDICTORS:
        return extras.get("group", 1)
    return _layout_frames(extras)


def _side_bytes(extras: dict) -> int:
    """Motion bytes (modes and vectors) before each predicted frame's planes (0 unless mc-temporal
    or mc-intra)."""
    if extras.get("predictor") not in MOTION_PREDICTORS:
        return 0
    width, height = extras["planes"][0]
    return motion.side_bytes_per_frame(height, width)


def motion_references(k: int, per: int) -> tuple[int, int] | None:
    """How many frames back frame `k`'s two references lie (mc-temporal, mc-intra; units of `per`
    frames): None for a unit's first frame (intra MED, no references), (1, 1) for its second (the
    previous frame stands in for the one before, which lies in another unit), else (1, 2). The one
    statement of the schedule, for the front end and for bench/motion_search.py."""
    index = k % per
    if index == 0:
        return None
    return (1, 1) if index == 1 else (1, 2)


def _payload_offset(extras: dict, n: int) -> int:
    """Payload bytes taken by the first n frames, n a unit boundary or the frame count: every frame
    but a unit's first carries its motion bytes with mc-temporal and mc-intra."""
    per = _unit_frames(extras)
    return n * extras["frame_bytes"] + (n - -(-n // per)) * _side_bytes(extras)


def _predict_motion(data: bytes, extras: dict, forward: bool) -> bytes:
    """mc-temporal, mc-intra: frame-major bytes of whole units <-> [motion bytes] + residuals per
    frame."""
    import numpy as np

    per, side_size = _unit_frames(extras), _side_bytes(extras)
    intra = extras["predictor"] == "mc-intra"
    subs = COLOURSPACES[extras["colourspace"]]
    luma = (extras["planes"][0][1], extras["planes"][0][0])  # (height, width)
    rows, cols = motion.blocks(*luma)
    out: list[bytes] = []
    # the upsampled planes of the previous frame and of the one before it (the previous again for
    # a unit's second frame), as both ends have them; each frame is upsampled once
    previous: list[np.ndarray] = []
    before: list[np.ndarray] = []
    pos = 0
    k = 0
    while pos < len(data):
        references = motion_references(k, per)
        predicted = references is not None
        if references == (1, 1):
            before = previous
        side = None
        if predicted and not forward:
            side = motion.read_side(data[pos : pos + side_size], rows, cols, intra)
            pos += side_size
        planes = []
        for w, h in extras["planes"]:
            planes.append(np.frombuffer(data, dtype=np.uint8, count=w * h, offset=pos).reshape(h, w).astype(np.int64))
            pos += w * h
        if predicted and forward:
            side = motion.choose((previous[0], before[0]), planes[0], intra=intra)
            out.append(motion.side_bytes(side, intra))
        if side is None:  # a unit's first frame: intra MED
            coded = [pixelpred.plane_residuals(p) if forward else pixelpred.plane_restore(p) for p in planes]
        else:
            coded = motion.code_frame((previous, before), side, planes, subs, forward)
        frame = planes if forward else coded  # the frame's planes as the decoder holds them
        out.extend(c.astype(np.uint8).tobytes() for c in coded)
        k += 1
        before = previous
        previous = [motion.upsample(p) for p in frame] if k % per else []  # only a predicted frame needs it
    return b"".join(out)


def _predict(frames: bytes, extras: dict, forward: bool) -> bytes:
    """Frame-major bytes -> residuals (forward) or back. `frames` starts at a unit boundary."""
    import numpy as np

    kind = extras.get("predictor", "none")
    if kind == "none":
        return frames
    if kind not in PREDICTORS:
        raise ContainerError(f"corrupt header: unknown video predictor {kind!r}")
    if kind in MOTION_PREDICTORS:
        return _predict_motion(frames, extras, forward)
    per = _unit_frames(extras)
    arr = np.frombuffer(frames, dtype=np.uint8).reshape(-1, extras["frame_bytes"]).astype(np.int64)
    out = np.empty_like(arr)
    source = arr if forward else out  # the previous frame as the decoder has it
    for k in range(arr.shape[0]):
        offset = 0
        for w, h in extras["planes"]:
            size = w * h
            plane = arr[k, offset : offset + size].reshape(h, w)
            prev = 0
            if kind == "med-temporal" and k % per:
                prev = source[k - 1, offset : offset + size].reshape(h, w)
            if forward:
                out[k, offset : offset + size] = pixelpred.plane_residuals(plane, prev).reshape(-1)
            else:
                out[k, offset : offset + size] = pixelpred.plane_restore(plane, prev).reshape(-1)
            offset += size
    return out.astype(np.uint8).tobytes()


def unit_range(extras: dict, k: int) -> tuple[int, int]:
    """Payload byte range [start, end) of the independently coded unit that holds frame k."""
    frames = extras["frames"]
    if not 0 <= k < frames:
        raise InputError(f"frame {k} out of range (the video has {frames} frames)")
    per = _unit_frames(extras)
    first = k - k % per
    return _payload_offset(extras, first), _payload_offset(extras, min(first + per, frames))


def _reorder(data: bytes, extras: dict, n: int, forward: bool) -> bytes:
    """frames -> temporal layout of one group of n frames (or back, forward=False)."""
    import numpy as np

    arr = np.frombuffer(data, dtype=np.uint8)
    out, offset = [], 0
    frame_major = arr.reshape(n, -1)
    for w, h in extras["planes"]:
        size = w * h
        if forward:
            plane = frame_major[:, offset : offset + size].reshape(n, h, w)
            out.append(plane.transpose(1, 0, 2).reshape(-1))
        else:
            plane = arr[offset * n : (offset + size) * n].reshape(h, n, w)
            out.append(plane.transpose(1, 0, 2).reshape(n, -1))
        offset += size
    if forward:
        return np.concatenate(out).tobytes()
    return np.concatenate(out, axis=1).tobytes()


def _layout(payload: bytes, extras: dict, forward: bool) -> bytes:
    per = _layout_frames(extras)
    if per == 1:
        return payload
    size = extras["frame_bytes"]
    out = []
    for first in range(0, extras["frames"], per):
        n = min(per, extras["frames"] - first)
        out.append(_reorder(payload[first * size : (first + n) * size], extras, n, forward))
    return b"".join(out)


MAX_LINE = 4096  # a FRAME line or the stream header line (split() refuses longer ones)
_DIM = schema.Int(1, 2**31 - 1)
EXTRAS = schema.Obj(
    fields={
        "format": schema.Str(choices=("y4m",)),
        "header": schema.Str(max_len=MAX_LINE, forbid="", latin1=True),
        "colourspace": schema.Str(choices=tuple(COLOURSPACES)),
        "width": _DIM,
        "height": _DIM,
        "planes": schema.List(schema.Tuple((_DIM, _DIM)), max_len=4),
        "frames": schema.Int(0, 2**31 - 1),
        "frame_bytes": schema.Int(1, 2**62),
        "frame_lines": schema.List(schema.Tuple((schema.Str(max_len=MAX_LINE, forbid="\n", latin1=True), _DIM))),
        "order": schema.Str(choices=ORDERS),
        "group": schema.Int(1, 2**31 - 1),
        "predictor": schema.Str(choices=PREDICTORS),
    },
    optional=frozenset({"group", "predictor"}),
)


def check_extras(extras: dict, header: dict) -> None:
    """The stored geometry is the one the stream header line gives, the frames fill the payload
    exactly, and the FRAME lines number the frames: `join` can then neither fail nor overrun."""
    line = extras["header"]
    if not line.startswith(MAGIC.decode()) or not line.endswith("\n") or "\n" in line[:-1]:
        raise ContainerError("corrupt header: the y4m stream header line is malformed")
    try:
        geometry = geometry_extras(line[:-1].encode("latin-1"))
    except InputError as exc:
        raise ContainerError(f"corrupt header: {exc}") from None
    if any(extras[k] != geometry[k] for k in ("width", "height", "colourspace", "planes")):
        raise ContainerError("corrupt header: video geometry differs from the y4m header line")
    if extras["frame_bytes"] != geometry["frame_bytes"]:
        raise ContainerError("corrupt header: video frame size differs from its planes")
    if extras.get("predictor") in MOTION_PREDICTORS and extras["order"] != "frames":
        raise ContainerError(f"corrupt header: video predictor {extras['predictor']} needs order frames")
    if _payload_offset(extras, extras["frames"]) != header["payload_length"]:
        raise ContainerError("corrupt header: video payload length does not match its frames")
    if sum(count for _, count in extras["frame_lines"]) != extras["frames"]:
        raise ContainerError("corrupt header: video FRAME lines do not number its frames")
    if any(not text.startswith(FRAME.decode()) for text, _ in extras["frame_lines"]):
        raise ContainerError("corrupt header: a y4m FRAME line does not start with FRAME")
    lines = sum((len(text) + 1) * count for text, count in extras["frame_lines"])
    if len(line) + lines + extras["frames"] * extras["frame_bytes"] != header["original_length"]:
        raise ContainerError("corrupt header: video parts do not add up to the original length")


@frontends.register
class VideoFrontend:
    name = "video"
    # No coder adaptation by default either: the same pixel models on pixel residuals, where the
    # image measurement (compress/media/image.py) found no gain at 3.5x the time (not measured on video).
    coder_adapt = None
    # Independent segments (frame-level random access) with up to 1,024 side by side, unless the
    # caller asks for carried context; then one row per 2,048 bytes, at most 1,024, as for images.
    # carphone_qcif.y4m (120 frames, med-temporal, group 8, kodak_igpt/cpu3600med, 2 threads, idle):
    # carried context with 1,024 rows 1,744,051 B in 371 s / 316 s, over the 5-minute budget;
    # independent segments 1,742,694 B in 155 s / 152 s (bench/results/video_model_med_temporal.json).
    # float32, not the text default bf16-linear (compress/core/linear16.py): the byte models'
    # figures and time budgets were measured in float32, bf16-linear's were not.
    coder_dtype = "float32"
    # Online tuning between batches (compress/core/online.py): the video model learnt from synthetic
    # clips and meets camera video; carphone, one group, `video_mc/cpu8640`: see docs/targets.md.
    # Decoding a frame then decodes every batch before it (read_frame); `tune=None` keeps frame-level
    # random access cheap.
    coder_tune = "adam/1"
    coder_stepper = "kv-growing/2"   # compress.core.stepper.GROWING
    coder_rows = (2048, 1024)
    suffixes = ("y4m",)
    SYMBOLIZER = BYTEMAP_VERSION
    EXTRAS = EXTRAS
    check_extras = staticmethod(check_extras)

    def __init__(self, order: str = "frames", group: int = DEFAULT_GROUP, predictor: str = "none"):
        if order not in ORDERS:
            raise InputError(f"unknown video order '{order}' (choose from {', '.join(ORDERS)})")
        if group < 1:
            raise InputError("video group must be at least one frame")
        if predictor not in PREDICTORS:
            raise InputError(f"unknown video predictor '{predictor}' (choose from {', '.join(PREDICTORS)})")
        if predictor in MOTION_PREDICTORS and order != "frames":
            raise InputError(f"video predictor {predictor} codes frames in order: it needs order 'frames'")
        self.order = order
        self.group = group
        self.predictor = predictor

    def split(self, data: bytes) -> tuple[bytes, dict]:
        if not data:
            raise InputError("empty input: not a y4m video")
        if not data.startswith(MAGIC):
            raise InputError("not a YUV4MPEG2 (.y4m) video")
        end = data.find(b"\n", 0, MAX_LINE)
        if end < 0:
            raise InputError(f"malformed y4m: the stream header line has no end of line within {MAX_LINE} bytes")
        geometry = geometry_extras(data[:end])
        frame_bytes = geometry["frame_bytes"]
        lines, payload = [], []
        pos = end + 1
        while pos < len(data):
            stop = data.find(b"\n", pos, pos + MAX_LINE)
            if not data.startswith(FRAME, pos) or stop < 0:
                raise InputError(f"malformed y4m: frame {len(lines)} does not start with a FRAME line")
            lines.append(data[pos:stop].decode("latin-1"))
            pos = stop + 1
            if pos + frame_bytes > len(data):
                raise InputError(f"truncated y4m: frame {len(lines) - 1} has {len(data) - pos} "
                                 f"of {frame_bytes} bytes")
            payload.append(data[pos : pos + frame_bytes])
            pos += frame_bytes
        extras = {
            "format": "y4m",
            "header": data[: end + 1].decode("latin-1"),
            **geometry,
            "frames": len(lines),
            "frame_lines": _runs(lines),
            "order": self.order,
        }
        if self.order == "temporal" or self.predictor in TEMPORAL_PREDICTORS:
            extras["group"] = self.group
        if self.predictor != "none":
            extras["predictor"] = self.predictor
        return _layout(_predict(b"".join(payload), extras, forward=True), extras, forward=True), extras

    def join(self, payload: bytes, extras: dict) -> bytes:
        size = extras["frame_bytes"]
        if len(payload) != _payload_offset(extras, extras["frames"]):
            raise ContainerError("video payload length does not match the header's frame count")
        payload = _predict(_layout(payload, extras, forward=False), extras, forward=False)
        out = [extras["header"].encode("latin-1")]
        k = 0
        for line, count in extras["frame_lines"]:
            head = line.encode("latin-1") + b"\n"
            for _ in range(count):
                out += [head, payload[k * size : (k + 1) * size]]
                k += 1
        return b"".join(out)

    def segment_breaks(self, extras: dict) -> list[int]:
        """Payload offsets where a frame (or temporal group) starts: no segment spans two of them
        (ByteSymbolizer: one unit per byte, so byte offsets are unit offsets)."""
        per = _unit_frames(extras)
        return [_payload_offset(extras, first) for first in range(per, extras["frames"], per)]

    def symbolizer(self, tokenizer, vocab_size: int):
        return ByteSymbolizer(tokenizer, vocab_size)


def read_frame(compressor, blob: bytes, k: int, *, model: str | None = None) -> bytes:
    """Frame k's planes (Y, U, V rows concatenated) from a video container, decoding only the
    batches that hold its unit (the frame, or its temporal group), through the engine's one
    decoding loop (`Compressor.open` checks the container and model exactly as for a whole file)."""
    import numpy as np

    from compress.core import container
    from compress.core import segments as seglib

    opened = compressor.open(blob, model=model)
    header = opened.header
    if header.get("modality") != VideoFrontend.name:
        raise InputError("not a video container (" + (f"modality {header['modality']}" if "modality" in
                         header else "stored as is: decompress it whole") + ")")
    extras = header["frontend"]
    start, end = unit_range(extras, k)
    lengths = header["segments"]
    bounds = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
    first = int(np.searchsorted(bounds, start, side="right")) - 1
    last = int(np.searchsorted(bounds, end, side="left"))  # exclusive
    if container.header_stepper(header) == container.STEPPER_PRIMED:
        # striped batches: a frame's segments lie in several; every batch before them is needed
        offset, out = 0, compressor.decode_payload(opened)
    else:
        ranges = seglib.layout(len(lengths), header["batch"])
        wanted = [b for b, (s0, s1) in enumerate(ranges) if s0 < last and s1 > first]
        # the wanted batches are consecutive: their bytes start at the first one's first segment
        offset = int(bounds[ranges[wanted[0]][0]])
        out = b"".join(compressor.decode_batches(opened, wanted))
    unit = out[start - offset : end - offset]
    size = extras["frame_bytes"]
    n = len(unit) // size
    frames = _reorder(unit, extras, n, forward=False) if _layout_frames(extras) > 1 else unit
    frames = _predict(frames, extras, forward=False)
    index = k % _unit_frames(extras)
    return frames[index * size : (index + 1) * size]
