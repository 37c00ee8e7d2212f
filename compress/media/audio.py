"""Audio front end: WAV (integer PCM) and FLAC files <-> a byte payload of samples + header extras.

Lossless by default, on the file: `join(split(x)) == x` byte for byte for any integer-PCM WAV. The
payload is the data chunk's sample bytes, serialised in a `layout` (an exact bijection recorded in
the extras) chosen for a 256-symbol byte model; every other byte of the file (RIFF header, fmt and
all other chunks, the data chunk's size field as written, pad byte, anything after the samples) is
kept verbatim, base64 in the extras.

Policies (docs/audio.md has the header fields and the measurements behind the default layout):
- FLAC input is decoded (libsndfile, through soundfile) and becomes a WAV file with exactly the same
  samples: a FLAC file's own bytes cannot be rebuilt from PCM. The extras say so (`source: flac`,
  `reencoded`, a `note`), the end-to-end checksum covers that WAV file, and FLAC tags are not kept.
- A data chunk whose size field exceeds the bytes present (a truncated file, or a streaming writer
  that never filled the size in) is coded as it is: the bytes present round-trip exactly, the
  lying size field stays in the header bytes, and the extras record both sizes so `-l` can say so.
  A trailing partial frame (e.g. an odd-length 16-bit data chunk) rides at the end of the payload.
- Non-PCM WAV (float, µ-law, A-law, ADPCM, ...) is refused with one line that names the encoding
  and suggests `--modality text`; the front end never guesses a different modality by itself.
- `audio_bits=8` is the LMCompress paper's LOSSY mode: mono, 16 kHz, 8-bit unsigned PCM. The output
  of decoding is that 8-bit WAV file, not the input; the extras say `lossy: true` and list the steps.
"""

from __future__ import annotations

import base64
import io
from math import gcd

import numpy as np

from compress.core import frontends, schema
from compress.core.container import MAX_HEADER_TEXT, MAX_ORIGINAL
from compress.core.errors import ContainerError, InputError
from compress.core.symbols import BYTEMAP_VERSION, ByteSymbolizer
from compress.media import lms, lpc, nlms, wav

# Measured with SmolLM2-135M base on librivox speech (docs/format.md, bench notes in the report):
# most significant byte first, sign bit flipped (offset binary, silence at 0x80 0x00).
DEFAULT_LAYOUT = "hi-lo-offset"
BYTE_ORDERS = ("stored", "hi-lo", "hi-lo-offset")
PAPER_RATE = 16000
FLAC_MAGIC = b"fLaC"
# libsndfile subtype of a FLAC stream -> WAV subtype with the same samples (8-bit WAV is unsigned)
FLAC_TO_WAV = {"PCM_S8": "PCM_U8", "PCM_16": "PCM_16", "PCM_24": "PCM_24"}


# -- payload layouts ---------------------------------------------------------------------------
def check_layout(layout: str) -> str:
    """'stored' | 'hi-lo' | 'hi-lo-offset', optionally '+planar'; InputError for anything else.

    stored: sample bytes as in the file (little-endian, channels interleaved).
    hi-lo: each sample's bytes most significant first, so the model sees the predictable coarse
        byte before the noisy fine one (for 16-bit: "le16-hi-lo").
    hi-lo-offset: hi-lo with the sign bit of the top byte flipped (two's complement -> offset
        binary, as 8-bit WAV already is), so quiet samples sit around 0x80 instead of jumping
        between 0x00 and 0xFF, two far-apart symbols.
    +planar: all of channel 0, then channel 1, ... instead of frame by frame.
    """
    order, _, planar = layout.partition("+")
    if order not in BYTE_ORDERS or planar not in ("", "planar"):
        raise InputError(f"unknown audio layout '{layout}' (choose from "
                         f"{', '.join(BYTE_ORDERS)}, each optionally with '+planar')")
    return layout


def _effective_layout(layout: str, channels: int, width: int) -> str:
    """The layout actually applied: byte order means nothing for 8-bit (already unsigned), planar
    nothing for mono; record what was done, not what was asked for."""
    order, _, planar = layout.partition("+")
    if width == 1:
        order = "stored"
    if channels == 1:
        planar = ""
    return order + ("+planar" if planar else "")


def to_payload(samples: bytes, channels: int, width: int, layout: str) -> bytes:
    """Serialise sample bytes in `layout`; a trailing partial frame is appended unchanged."""
    block = channels * width
    whole = len(samples) - len(samples) % block
    order, _, planar = layout.partition("+")
    frames = np.frombuffer(samples, dtype=np.uint8, count=whole).reshape(-1, channels, width)
    if order != "stored":
        frames = frames[:, :, ::-1].copy()
        if order == "hi-lo-offset" and width > 1:
            frames[:, :, 0] ^= 0x80
    if planar:
        frames = frames.transpose(1, 0, 2)
    return np.ascontiguousarray(frames).tobytes() + samples[whole:]


def from_payload(payload: bytes, channels: int, width: int, layout: str) -> bytes:
    """Inverse of to_payload."""
    block = channels * width
    whole = len(payload) - len(payload) % block
    order, _, planar = layout.partition("+")
    arr = np.frombuffer(payload, dtype=np.uint8, count=whole)
    if planar:
        frames = arr.reshape(channels, -1, width).transpose(1, 0, 2).copy()
    else:
        frames = arr.reshape(-1, channels, width).copy()
    if order != "stored":
        if order == "hi-lo-offset" and width > 1:
            frames[:, :, 0] ^= 0x80
        frames = frames[:, :, ::-1]
    return np.ascontiguousarray(frames).tobytes() + payload[whole:]


# -- decoding to numbers (paper mode, linear prediction) ---------------------------------------
def pcm_to_int(samples: bytes, channels: int, width: int) -> np.ndarray:
    """(frames, channels) signed int64 from little-endian integer PCM (8-bit unsigned: minus 128);
    a trailing partial frame is ignored."""
    block = channels * width
    raw = np.frombuffer(samples, dtype=np.uint8, count=len(samples) - len(samples) % block)
    raw = raw.reshape(-1, width)
    if width == 1:
        values = raw[:, 0].astype(np.int64) - 128
    else:  # left-justify into int64 so the arithmetic shift sign-extends
        wide = np.zeros((raw.shape[0], 8), dtype=np.uint8)
        wide[:, 8 - width :] = raw
        values = wide.view("<i8")[:, 0] >> (64 - 8 * width)
    return values.reshape(-1, channels)


def int_to_pcm(values: np.ndarray, width: int) -> bytes:
    """Inverse of pcm_to_int for values in the signed range of `width` bytes."""
    v = values.reshape(-1).astype(np.int64)
    if width == 1:
        return ((v + 128) & 0xFF).astype(np.uint8).tobytes()
    return np.ascontiguousarray(v.astype("<i8").view(np.uint8).reshape(-1, 8)[:, :width]).tobytes()


def pcm_to_float(samples: bytes, channels: int, width: int) -> np.ndarray:
    """(frames, channels) float64 in [-1, 1) from little-endian integer PCM (8-bit unsigned)."""
    values = pcm_to_int(samples, channels, width).astype(np.float64)
    return values / float(1 << (8 * width - 1))


# "lpc+lms": LPC, then a cascade of sign LMS stages on its residual (compress/media/lms.py);
# "nlms+lms": no tables: a fixed first-order filter and a normalised LMS stage (compress/media/nlms.py),
# then a shorter sign LMS cascade (lms.STAGES_AFTER_NLMS)
PREDICTORS = ("none", "lpc", "lpc+lms", "nlms+lms")


def predict(samples: bytes, channels: int, width: int, predictor: str, order: int, block: int,
            lms_kind: str = lms.KIND) -> tuple[bytes, dict, dict | None]:
    """Sample bytes -> prediction residual bytes in the same PCM format (whole frames; a trailing
    partial frame is appended unchanged), the first stage's header entry (LPC tables, or
    fo-nlms/1's constants for "nlms+lms") and, for "lpc+lms" and "nlms+lms", the sign LMS
    cascade's (run on each channel's residual). See compress/media/lpc.py, nlms.py, lms.py."""
    whole = len(samples) - len(samples) % (channels * width)
    bits = 8 * width
    x = pcm_to_int(samples, channels, width)
    if predictor == "nlms+lms":
        entry = nlms.params()
        if channels == 2 and nlms.choose_stereo(x, bits):
            entry["stereo"] = nlms.MID_SIDE
            x = nlms.mid_side(x, bits)
        res = np.stack([nlms.forward(x[:, ch], bits, entry) for ch in range(channels)], axis=1)
        stage = lms.params(lms_kind, lms.STAGES_AFTER_NLMS)
    else:
        res, params = lpc.analyse(x, bits, order, block)
        entry = params.to_extras()
        stage = lms.params(lms_kind) if predictor == "lpc+lms" else None
    if stage is not None:
        kind, stages = lms.check_entry(stage)  # exactly what the header will tell the decoder
        for ch in range(channels):
            res[:, ch] = lms.forward(res[:, ch], bits, stages, kind)
    return int_to_pcm(res, width) + samples[whole:], entry, stage


def unpredict(residual_bytes: bytes, channels: int, width: int, entry: dict,
              adaptive: dict | None = None) -> bytes:
    """Inverse of predict(): the LMS cascade first (if the header names one), then the first stage.
    Both stages' header entries are checked before any sample is rebuilt."""
    whole = len(residual_bytes) - len(residual_bytes) % (channels * width)
    res = pcm_to_int(residual_bytes, channels, width)
    bits = 8 * width
    if entry.get("kind") == nlms.KIND:
        nlms.check_entry(entry)

        def first_stage(r: np.ndarray) -> np.ndarray:
            x = np.stack([nlms.inverse(r[:, ch], bits, entry) for ch in range(channels)], axis=1)
            return nlms.mid_side(x, bits, inverse=True) if entry.get("stereo") == nlms.MID_SIDE else x
    else:
        params = lpc.Params.from_extras(entry, channels, res.shape[0])

        def first_stage(r: np.ndarray) -> np.ndarray:
            return lpc.restore(r, bits, params)
    if adaptive is not None:
        kind, stages = lms.check_entry(adaptive)
        for ch in range(channels):
            res[:, ch] = lms.inverse(res[:, ch], bits, stages, kind)
    return int_to_pcm(first_stage(res), width) + residual_bytes[whole:]


def drop_zero_channels(residual: bytes, channels: int, width: int) -> tuple[bytes, list[int]]:
    """(residual bytes without the channels whose residuals are all zero, their indices), keeping
    at least one channel; a trailing partial frame stays at the end.

    Why: the model is trained on one channel's residuals and codes a run of zero residuals at about
    1 bit per byte, where a header entry costs nothing: with mid-side, dual mono (the same samples
    in both channels) leaves the side channel all zero, and a silent channel of a multichannel file
    is all zero too. WavPack drops such channels the same way."""
    whole = len(residual) - len(residual) % (channels * width)
    if channels < 2 or not whole:
        return residual, []
    values = pcm_to_int(residual, channels, width)
    zero = [ch for ch in range(channels) if not values[:, ch].any()][: channels - 1]
    if not zero:
        return residual, []
    keep = [ch for ch in range(channels) if ch not in zero]
    return int_to_pcm(values[:, keep], width) + residual[whole:], zero


def restore_zero_channels(kept_frames: bytes, channels: int, width: int, zero: list[int]) -> bytes:
    """Inverse of drop_zero_channels on whole frames (the caller keeps the partial frame apart)."""
    keep = [ch for ch in range(channels) if ch not in zero]
    if len(kept_frames) % (len(keep) * width):
        raise ContainerError("damaged audio payload (not whole frames of the kept channels)")
    kept = pcm_to_int(kept_frames, len(keep), width)
    values = np.zeros((kept.shape[0], channels), dtype=np.int64)
    values[:, keep] = kept
    return int_to_pcm(values, width)


def _wav_bytes(samples: np.ndarray, rate: int, subtype: str) -> bytes:
    """A WAV file written by libsndfile (int32 or int16 samples, converted exactly to `subtype`)."""
    import soundfile

    out = io.BytesIO()
    soundfile.write(out, samples, rate, format="WAV", subtype=subtype)
    return out.getvalue()


def flac_to_wav(data: bytes) -> tuple[bytes, dict]:
    """Decode a FLAC file to a WAV file holding exactly its samples; (wav, what the FLAC was)."""
    import soundfile

    try:
        info = soundfile.info(io.BytesIO(data))
        samples, rate = soundfile.read(io.BytesIO(data), dtype="int32", always_2d=True)
    except (RuntimeError, ValueError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        raise InputError(f"damaged FLAC file: {str(exc).splitlines()[0]}") from None
    subtype = FLAC_TO_WAV.get(info.subtype)
    if subtype is None:
        raise InputError(f"unsupported FLAC sample format {info.subtype}")
    source = {"format": "flac", "channels": info.channels, "rate": rate, "subtype": info.subtype,
              "frames": int(samples.shape[0])}
    return _wav_bytes(samples, rate, subtype), source


def paper_8bit(data: bytes) -> tuple[bytes, dict]:
    """The LMCompress paper's preprocessing: mono, 16 kHz, 8-bit unsigned PCM, as a WAV file.

    Mono is the mean of the channels; resampling is scipy's polyphase FIR resampler (Kaiser
    window, beta 5: anti-aliased, not decimation); requantisation rounds x*128 to the nearest
    integer and adds 128 (no dither, so it is deterministic), clipping the rare overshoot.
    """
    from scipy.signal import resample_poly

    source: dict = {}
    if data[:4] == FLAC_MAGIC:
        data, source = flac_to_wav(data)
    info = wav.parse(data)
    if not source:
        source = {"format": "wav", "channels": info.channels, "rate": info.rate, "bits": info.bits,
                  "frames": info.frames}
    if info.rate <= 0:
        raise InputError("damaged WAV file: sample rate 0")
    x = pcm_to_float(data[info.start : info.start + info.present], info.channels, info.width)
    partial = info.present % info.block_align
    x = x.mean(axis=1)
    g = gcd(PAPER_RATE, info.rate)
    up, down = PAPER_RATE // g, info.rate // g
    if (up, down) != (1, 1) and x.size:
        x = resample_poly(x, up, down, window=("kaiser", 5.0))
    q = np.rint(x * 128.0) + 128.0
    clipped = int(np.count_nonzero((q < 0) | (q > 255)))
    q = np.clip(q, 0, 255).astype(np.int16)
    out = _wav_bytes((q - 128) << 8, PAPER_RATE, "PCM_U8")  # libsndfile: (v >> 8) + 128 == q
    steps = [
        "mix to mono: mean of the channels" if info.channels > 1 else "mono already",
        f"resample {info.rate} -> {PAPER_RATE} Hz: scipy.signal.resample_poly(up={up}, down={down}, "
        "window=('kaiser', 5.0))" if (up, down) != (1, 1) else f"{PAPER_RATE} Hz already",
        "requantise to 8-bit unsigned: round(x * 128) + 128, clipped to 0..255, no dither",
    ]
    if partial:
        steps.insert(0, f"drop the trailing partial frame ({partial} bytes)")
    return out, {"mode": "paper-8bit", "source": source, "steps": steps, "clipped_samples": clipped}


LAYOUTS = tuple(o + p for o in BYTE_ORDERS for p in ("", "+planar"))
_B64 = schema.Str(max_len=MAX_HEADER_TEXT, pattern=schema.BASE64)
_U32 = schema.Int(0, 2**32 - 1)
_SOURCE = schema.Obj({"format": schema.Str(choices=("wav", "flac")), "channels": schema.Int(1, 65535),
                      "rate": _U32, "bits": schema.Int(1, 32), "subtype": schema.Str(max_len=32),
                      "frames": schema.Int(0, 2**40)},
                     optional=frozenset({"bits", "subtype"}))
LPC_FIELDS = frozenset({"order", "block", "shifts", "coefs"})  # the lpc/1 predictor entry's tables
EXTRAS = schema.Obj(
    fields={
        "container": schema.Str(choices=("wav",)),
        "channels": schema.Int(1, 65535),
        "rate": _U32,
        "bits": schema.Int(1, 32),
        "width": schema.Int(1, 4),
        "extensible": schema.Bool(),
        "layout": schema.Str(choices=LAYOUTS),
        "data_declared": _U32,
        "data_present": schema.Int(0, MAX_ORIGINAL),
        "head": _B64,
        "tail": _B64,
        "lossy": schema.Bool(),
        "reencoded": schema.Bool(),
        "note": schema.Str(max_len=4096),
        "output_suffix": schema.Str(choices=("wav",)),
        "source": _SOURCE,
        "transform": schema.Obj({"mode": schema.Str(choices=("paper-8bit",)), "source": _SOURCE,
                                 "steps": schema.List(schema.Str(max_len=512), max_len=8),
                                 "clipped_samples": schema.Int(0, 2**40)}),
        # lpc/1 needs LPC_FIELDS; fo-nlms/1 coef, shift and nlms, and no LPC_FIELDS (check_extras)
        "predictor": schema.Obj({"kind": schema.Str(choices=(lpc.KIND, nlms.KIND)),
                                 "order": schema.Int(1, lpc.MAX_ORDER), "block": schema.Int(1, 2**32),
                                 "shifts": _B64, "coefs": _B64,
                                 "coef": schema.Int(0, 256), "shift": schema.Int(0, 8),
                                 "nlms": schema.List(schema.Int(0, nlms.MAX_TAPS), exact_len=4),
                                 "stereo": schema.Str(choices=(nlms.MID_SIDE,))},
                                optional=LPC_FIELDS | {"coef", "shift", "nlms", "stereo"}),
        "zero_channels": schema.List(schema.Int(0, 65534), max_len=65534),
        "adaptive": schema.Obj({"kind": schema.Str(choices=lms.KINDS),
                                "stages": schema.List(schema.List(schema.Int(0, lms.MAX_TAPS), exact_len=3),
                                                      max_len=lms.MAX_STAGES)}),
    },
    optional=frozenset({"lossy", "reencoded", "note", "output_suffix", "source", "transform",
                        "predictor", "adaptive", "zero_channels"}),
)


def _b64_length(text: str) -> int:
    """Bytes a (schema-checked) base64 string decodes to, without decoding it."""
    if len(text) % 4:
        raise ContainerError("corrupt header: a base64 field has a length that is not a multiple of 4")
    return len(text) // 4 * 3 - len(text) + len(text.rstrip("="))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@frontends.register
class AudioFrontend:
    """WAV/FLAC <-> sample bytes for a ByteSymbolizer; lossless unless `audio_bits=8`."""

    name = "audio"
    suffixes = ("wav", "flac")
    SYMBOLIZER = BYTEMAP_VERSION
    EXTRAS = EXTRAS
    # options a checkpoint's recipe never passes on by default (Compressor.frontend_options): the
    # paper's 8-bit mode is lossy, so it is used only when the caller asks for it
    explicit_options = ("audio_bits",)
    # The coder's online adaptation (compress/core/adapt.py) is off for sample bytes: its n-gram and
    # match features find little to repeat in prediction residuals, and learning their weights costs
    # more than it gains. Measured with the scoring pass on vk5qi.wav (validation audio,
    # checkpoints/librispeech_bgpt/cpu1800lms, context 512): carried context with ngram-mix/2
    # 4.5797 bits/byte, carried without adaptation 4.5609, independent segments 4.5701.
    coder_adapt = None
    # float32, not the text default bf16-linear (compress/core/linear16.py): the byte models'
    # figures and time budgets were measured in float32, bf16-linear's were not.
    coder_dtype = "float32"

    def __init__(self, audio_bits: int | None = None, layout: str | None = None,
                 predictor: str = "none", lpc_order: int = lpc.DEFAULT_ORDER,
                 lpc_block: int = lpc.DEFAULT_BLOCK, lms_kind: str = lms.KIND):
        if audio_bits not in (None, 8):
            raise InputError(f"--audio-bits {audio_bits} is not supported (only 8, the paper's lossy mode)")
        if predictor not in PREDICTORS:
            raise InputError(f"unknown audio predictor '{predictor}' (choose from {', '.join(PREDICTORS)})")
        lpc.check_options(lpc_order, lpc_block)
        if lms_kind not in lms.KINDS:  # sslms/1 only to reproduce checkpoints made before sslms/2
            raise InputError(f"unknown LMS kind '{lms_kind}' (choose from {', '.join(lms.KINDS)})")
        self.lms_kind = lms_kind
        self.audio_bits = audio_bits
        self.layout = None if layout is None else check_layout(layout)  # None: layout_for() decides
        self.predictor = predictor
        self.lpc_order, self.lpc_block = lpc_order, lpc_block

    # -- the file the decoder will give back ---------------------------------------------------
    def _prepare(self, data: bytes) -> tuple[bytes, dict]:
        """(the WAV file that decoding reproduces, extras describing any conversion)."""
        if self.audio_bits == 8:
            out, transform = paper_8bit(data)
            note = (f"LOSSY paper mode: output is {PAPER_RATE} Hz mono 8-bit WAV, not the original "
                    f"({transform['source']['format'].upper()}, {transform['source']['rate']} Hz, "
                    f"{transform['source']['channels']} ch)")
            return out, {"lossy": True, "reencoded": True, "transform": transform, "note": note,
                         "output_suffix": "wav"}
        if data[:4] == FLAC_MAGIC:
            out, source = flac_to_wav(data)
            note = ("input was FLAC: output is a WAV file with exactly the same samples "
                    "(the FLAC file's bytes and tags are not kept)")
            return out, {"lossy": False, "reencoded": True, "source": source, "note": note,
                         "output_suffix": "wav"}
        return data, {}

    def layout_for(self, channels: int) -> str:
        """The layout asked for, or by default DEFAULT_LAYOUT, planar for several channels under
        nlms+lms: the checkpoints are trained on one channel's residuals, and frame-by-frame
        interleaving hands them two unrelated streams byte by byte. Measured on dual-mono clip 0880
        (bench/audio_stereo.py; mid-side, so the side channel is all zero): 82,545 B interleaved,
        56,716 B planar."""
        if self.layout is not None:
            return self.layout
        return DEFAULT_LAYOUT + ("+planar" if channels > 1 and self.predictor == "nlms+lms" else "")

    def checksum_bytes(self, data: bytes) -> bytes:
        """The engine's end-to-end check for re-encoded containers: the whole output file."""
        return self._prepare(data)[0]

    # -- Frontend protocol ---------------------------------------------------------------------
    def split(self, data: bytes) -> tuple[bytes, dict]:
        data, extras = self._prepare(data)
        info = wav.parse(data)
        end = info.start + info.present
        samples = data[info.start : end]
        kept = info.channels
        if self.predictor != "none":
            samples, extras["predictor"], stage = predict(samples, info.channels, info.width, self.predictor,
                                                          self.lpc_order, self.lpc_block, self.lms_kind)
            if stage is not None:
                extras["adaptive"] = stage
            if self.predictor == "nlms+lms":
                samples, zero = drop_zero_channels(samples, info.channels, info.width)
                if zero:
                    extras["zero_channels"] = zero
                    kept -= len(zero)
        layout = _effective_layout(self.layout_for(info.channels), kept, info.width)
        # a trailing partial frame (of the file's frame size) rides at the end, outside the layout
        whole = len(samples) - info.present % (info.channels * info.width)
        payload = to_payload(samples[:whole], kept, info.width, layout) + samples[whole:]
        extras.update({
            "container": "wav",
            "channels": info.channels,
            "rate": info.rate,
            "bits": info.bits,
            "width": info.width,
            "extensible": info.extensible,
            "layout": layout,
            "data_declared": info.declared,
            "data_present": info.present,
            "head": _b64(data[: info.start]),
            "tail": _b64(data[end:]),
        })
        if info.declared != info.present:
            truncated = (f"data chunk declares {info.declared} bytes but {info.present} are present "
                         "(truncated or unfinished file; kept exactly as it is)")
            extras["note"] = f"{extras['note']}; {truncated}" if extras.get("note") else truncated
        return payload, extras

    @staticmethod
    def check_extras(extras: dict, header: dict) -> None:
        """Payload = the data chunk's sample bytes; file = head + samples + tail; the LPC side
        information has exactly one block entry per (channel, block)."""
        zero = extras.get("zero_channels", [])
        channels, width = extras["channels"], extras["width"]
        if zero and (sorted(set(zero)) != zero or zero[-1] >= channels or len(zero) >= channels
                     or (extras.get("predictor") or {}).get("kind") != nlms.KIND):
            raise ContainerError("corrupt header: audio zero_channels must be increasing channel indices, "
                                 "leave one channel, and come with the fo-nlms/1 predictor")
        frames = extras["data_present"] // (channels * width)
        if header["payload_length"] != extras["data_present"] - frames * width * len(zero):
            raise ContainerError("corrupt header: audio payload length differs from the data chunk's")
        if extras["layout"] != _effective_layout(extras["layout"], channels - len(zero), width):
            raise ContainerError("corrupt header: audio layout does not fit the sample format")
        head, tail = _b64_length(extras["head"]), _b64_length(extras["tail"])
        if not extras.get("reencoded") and head + extras["data_present"] + tail != header["original_length"]:
            raise ContainerError("corrupt header: audio parts do not add up to the original length")
        predictor = extras.get("predictor")
        if predictor is not None and predictor["kind"] == nlms.KIND:
            if extras.get("adaptive") is None or LPC_FIELDS & predictor.keys():
                raise ContainerError("corrupt header: fo-nlms/1 audio predictor without its LMS cascade "
                                     "or with LPC tables")
            if "stereo" in predictor and channels != 2:
                raise ContainerError("corrupt header: a mid-side audio predictor needs exactly two channels")
            nlms.check_entry(predictor)
        elif predictor is not None:
            if not LPC_FIELDS <= predictor.keys() or {"coef", "shift", "nlms", "stereo"} & predictor.keys():
                raise ContainerError("corrupt header: audio LPC predictor without its tables or with "
                                     "fo-nlms/1 fields")
            blocks = -(-frames // predictor["block"])
            cells = channels * blocks
            if (_b64_length(predictor["shifts"]) != cells
                    or _b64_length(predictor["coefs"]) != 2 * cells * predictor["order"]):
                raise ContainerError("corrupt header: audio predictor tables do not fit the samples")
        elif extras.get("adaptive") is not None:
            raise ContainerError("corrupt header: an adaptive audio stage without its LPC stage")
        if extras.get("adaptive") is not None:
            lms.check_entry(extras["adaptive"])  # before any decoding, as for the LPC tables

    def join(self, payload: bytes, extras: dict) -> bytes:
        try:
            head = base64.b64decode(extras["head"], validate=True)
            tail = base64.b64decode(extras["tail"], validate=True)
            channels, width, layout = int(extras["channels"]), int(extras["width"]), extras["layout"]
        except (KeyError, ValueError, TypeError) as exc:
            raise ContainerError(f"damaged audio header in the container ({exc})") from None
        if channels < 1 or width < 1 or layout.partition("+")[0] not in BYTE_ORDERS:
            raise ContainerError("damaged audio header in the container (layout)")
        zero = extras.get("zero_channels") or []  # checked: increasing indices below `channels`, one kept
        whole = len(payload) - int(extras["data_present"]) % (channels * width)
        samples = from_payload(payload[:whole], channels - len(zero), width, layout)
        if zero:
            samples = restore_zero_channels(samples, channels, width, zero)
        samples += payload[whole:]
        if extras.get("predictor") is not None:
            samples = unpredict(samples, channels, width, extras["predictor"], extras.get("adaptive"))
        return head + samples + tail

    def symbolizer(self, tokenizer, vocab_size: int):
        return ByteSymbolizer(tokenizer, vocab_size)

    # -- listing -------------------------------------------------------------------------------
    @staticmethod
    def describe(extras: dict) -> list[str]:
        """Lines for `lmcompress -l`: what the audio is and anything unusual about the container."""
        lines = [f"WAV PCM {extras.get('bits')}-bit, {extras.get('channels')} ch, "
                 f"{extras.get('rate')} Hz, payload layout {extras.get('layout')}"]
        predictor = extras.get("predictor")
        if isinstance(predictor, dict) and predictor.get("kind") == nlms.KIND:
            nl = predictor.get("nlms") or [None]
            lines.append(f"payload holds adaptive-prediction residuals ({nlms.KIND}: first order "
                         f"{predictor.get('coef')}/2^{predictor.get('shift')}, then NLMS, {nl[0]} taps; "
                         "no side information): lossless")
            if predictor.get("stereo") == nlms.MID_SIDE:
                lines.append("channels coded as mid and side (M = R + floor(S/2), S = L - R): lossless")
        elif isinstance(predictor, dict):
            lines.append(f"payload holds linear-prediction residuals ({predictor.get('kind')}, order "
                         f"{predictor.get('order')}, {predictor.get('block')}-frame blocks): lossless")
        adaptive = extras.get("adaptive")
        if isinstance(adaptive, dict):
            stages = adaptive.get("stages") or []
            lines.append(f"then adaptive sign LMS ({adaptive.get('kind')}: "
                         f"{' > '.join(str(s[0]) for s in stages if s)} taps): lossless")
        if extras.get("note"):  # FLAC converted, LOSSY paper mode, truncated data chunk
            lines += extras["note"].split("; ")
        return lines
