"""Compressor: bytes -> .lmc container -> the same bytes, with the model loaded once.

This module holds the policy that ties the parts together: choose the front end, symbolize, cut
segments, lay out batches, drive the coder for each batch, and record in the header every setting
that changes the bits. Decoding reads those settings back from the header (the header wins over
anything the caller passes), checks model/adapter/tokenizer identity before any decoding work, and
verifies a CRC-32 per batch (one interleaved stream: a divergence anywhere in it corrupts
the rest of that batch, so the batch is the unit a checksum can name) and a sha256 of the output
(of the front end's canonical bytes instead, for a front end that re-encodes the file layout).
"""

from __future__ import annotations

import hashlib
import platform
import re
import sys
import time
import zlib
from dataclasses import dataclass, field

import numpy as np
import torch

from compress.core import (
    __version__,
    coder,
    container,
    determinism,
    frontends,
    linear16,
    models,
    online,
    pixmix,
    quantize,
    stepper,
)
from compress.core import adapt as adaptlib
from compress.core import segments as seglib
from compress.core.errors import ChecksumError, ContainerError, InputError, MismatchError

DEFAULT_CONTEXT = 1024
# Carried context re-primes instead of starting cold, so a longer window pays for itself: on the
# whole of alice29 (15 rows, keep a quarter, ngram-mix/2, parallel-pass logits) 2048 positions
# gave 1.0603 bpb against 1.0681 at 1024 (bench/results/adapt_tune.json).
DEFAULT_CARRIED_CONTEXT = 2048
DEFAULT_BATCH = 32
# Carried context (stepper kv-carried/3): rows when the caller gives none, from the input's length
# (see auto_rows), and the tokens a window keeps when it re-primes (a fraction of the context).
TOKENS_PER_ROW = 2560
MAX_AUTO_ROWS = 32
# A front end may declare its own (tokens per row, most rows) as `coder_rows`: the pixel front ends
# do, because a small byte model's step costs little per row, so many rows keep an image inside
# its time budget (compress/media/image.py says what was measured). The batch of independent
# segments when the caller gives none is the front end's `coder_batch` (images: 256, so online
# tuning has batches to learn between), else its most rows, else DEFAULT_BATCH. A front end may
# also declare `coder_stepper`, the layout its new containers get when the caller names none
# (images and video: independent segments, compress/media/image.py and video.py).
KEEP_FRACTION = 0.25
DEFAULT_ADAPT = adaptlib.VERSION
# `adapt=AUTO` (the default): the front end's `coder_adapt` if it declares one, else DEFAULT_ADAPT.
# The adaptation's n-gram and match features are about repeated symbol sequences, which text has
# and sample bytes mostly do not (the audio front end turns it off: compress/media/audio.py).
AUTO = "auto"


def default_dtype(device: str) -> str:
    """The dtype new containers get with `dtype=AUTO` when the front end declares none
    (`coder_dtype`): bf16-linear (compress/core/linear16.py: float32 model, linear layers multiplied
    in bfloat16) on CPUs that multiply bfloat16 in hardware, where it was measured to pay: with AMX
    (SmolLM2-135M's linear layers at 16 rows: 26 ms per step against 56 in float32) and with
    AVX512-BF16 alone (an AMD EPYC without AMX, whole compressions of alice29:
    bench/results/engine_dtype_alice29_epyc_bf16.json); float32 on CPUs that would emulate it and
    on CUDA (not measured there). The header records the dtype and the device kind with its
    kernels (`cpu:x86_64+amx`, `cpu:x86_64+avx512-bf16`): a bf16-linear container decodes on CPUs
    with the same kernels."""
    if device.startswith("cpu") and linear16.cpu_kernel() in linear16.HARDWARE_KERNELS:
        return linear16.NAME
    return "float32"


def auto_rows(tokens: int, per_row: int = TOKENS_PER_ROW, most: int = MAX_AUTO_ROWS) -> int:
    """Rows for carried context when the caller gives none: one per `per_row` tokens, at most
    `most`. Fewer rows mean fewer cold starts (stronger) but fewer tokens per model step
    (slower); bench/engine.py --carried measures the curve for text."""
    return max(1, min(most, -(-tokens // per_row)))


def library_versions() -> dict:
    import constriction
    import transformers

    return {
        "lmcompress": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "constriction": getattr(constriction, "__version__", _dist_version("constriction")),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def device_kind(device: str, dtype: str = "float32") -> str:
    """What kind of processor computed the logits; different kinds give different bits. A CPU
    multiplying bf16-linear's bfloat16 products also names its kernels (`cpu:x86_64+amx`), which
    round differently (compress/core/linear16.py cpu_kernel)."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(torch.device(device))}"
    if dtype == linear16.NAME:
        return f"cpu:{platform.machine()}+{linear16.cpu_kernel()}"
    return f"cpu:{platform.machine()}"


def prefix_token(tokenizer) -> int:
    """The token every segment is conditioned on: BOS, else EOS, else 0."""
    for name in ("bos_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    return 0


def model_vocab(model) -> int:
    return int(model.get_output_embeddings().weight.shape[0])


def _segment_breaks(frontend, extras: dict) -> list[int]:
    """Unit offsets where a segment must end (e.g. video frame boundaries, for random access).

    Optional front-end hook `segment_breaks(extras)`; the decoder needs nothing of it, since the
    header lists every segment's length."""
    hook = getattr(frontend, "segment_breaks", None)
    return list(hook(extras)) if hook is not None else []


def _checked_sha256(frontend, data: bytes, extras: dict) -> str | None:
    """sha256 of what the end-to-end check covers when a front end re-encodes the file layout.

    A front end whose `join` cannot give back the file byte for byte (a PNG re-compressed with other
    deflate settings) marks `extras["reencoded"] = True` and implements `checksum_bytes(data)`: the
    canonical bytes (decoded pixels + metadata) that are identical for the original and the rebuilt
    file. Every other front end keeps the strict whole-file check (None here)."""
    if not extras.get("reencoded"):
        return None
    return hashlib.sha256(frontend.checksum_bytes(data)).hexdigest()


def kv_cache_bytes(model, header: dict) -> int:
    """Bytes the largest batch's preallocated KV cache takes (rows x longest segment)."""
    cfg = model.config
    layers = getattr(cfg, "num_hidden_layers", 1)
    heads = getattr(cfg, "num_key_value_heads", None) or getattr(cfg, "num_attention_heads", 1)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    width = torch.finfo(models.DTYPES[header["dtype"]]).bits // 8
    segs = header["segments"]
    if container.header_stepper(header) == stepper.CARRIED:  # rows x one window
        worst = len(segs) * header["context"] if segs else 0
    else:  # rows x (the prime and) the longest segment
        lead = stepper.PRIME.get(container.header_stepper(header), 0)
        worst = max((len(rows) * (lead + max(segs[k] for k in rows))
                     for rows in container.header_members(header) if len(rows)), default=0)
    return 2 * layers * heads * head_dim * width * worst


def _available_memory() -> int:
    import psutil

    return psutil.virtual_memory().available


def model_positions(model) -> int | None:
    """How many positions the model can attend over (None: the config does not say)."""
    limit = getattr(model.config, "max_position_embeddings", None)
    return int(limit) if isinstance(limit, int) and limit > 0 else None


def check_limits(header: dict, model) -> None:
    """The limits a loaded model puts on a container: context within its positions and a KV cache
    that fits in memory. One function for both ends: the encoder checks the header it is about to
    write, the decoder the header it read, so nothing is written that cannot be read back here."""
    limit = model_positions(model)
    if limit is not None and header["context"] > limit:
        raise MismatchError(f"context {header['context']} exceeds the model's {limit} positions")
    need = kv_cache_bytes(model, header)
    if header.get("tune") is not None:
        need += online.memory_bytes(model, header["tune"], header["context"])
    if header.get("mix") is not None:
        need += pixmix.memory_bytes(header["payload_length"], header["frontend"].get("channels", 1))
    if need > _available_memory():
        raise MismatchError(f"coding needs about {need / 2**30:.1f} GiB for the KV cache"
                            + (" and online tuning" if header.get("tune") is not None else "")
                            + (" and pixel mixing" if header.get("mix") is not None else "")
                            + ", more than this machine has free")


def check_device(device: str) -> str:
    """`cpu[:N]` or `cuda[:N]` that exists here; InputError (one line) for anything else (`meta`,
    `mps`, typos: the coder needs real numbers computed on a device it can record)."""
    if re.fullmatch(r"cpu(?::\d{1,4})?", device):  # accelerate names its CPU device `cpu:0`
        return device
    match = re.fullmatch(r"cuda(?::(\d{1,4}))?", device)
    if match is None:
        raise InputError(f"unknown device '{device[:40]}' (use cpu or cuda[:N])")
    if not torch.cuda.is_available():
        raise InputError(f"device '{device}': CUDA is not available on this machine")
    if match.group(1) is not None and int(match.group(1)) >= torch.cuda.device_count():
        raise InputError(f"device '{device}': this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


@dataclass
class Stats:
    """What the last compress/decompress did, for benchmarks and -v output."""

    tokens: int = 0
    seconds: float = 0.0
    ideal_bits: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass
class Opened:
    """A container ready to decode: its checked header and streams, and the checked model."""

    header: dict
    streams: list
    lm: models.LoadedModel | None
    symbolizer: object
    stored: bytes | None = None  # the stored form's data (the decoder checks its CRC-32)


class Compressor:
    """Loads a model spec once and compresses/decompresses any number of inputs with it.

    `context=None` (the default) codes with DEFAULT_CARRIED_CONTEXT positions under carried
    context (DEFAULT_CONTEXT for independent segments), or with the model's own limit when that is
    smaller; an explicit context beyond the model's positions is refused.
    Decoding uses the model the caller names (`decompress(model=...)`, else the one this
    Compressor was built with when one was given), or the embedded alias when the container names
    it: a container never makes the decoder load a path or hub id it names.

    `allow_stored=False` always writes the coded container, even when the stored form (the input
    as is, STORED_OVERHEAD bytes more) would be smaller: for measuring and testing the coder on
    tiny inputs. The default keeps the smaller, so no container is more than 8 bytes over its input.
    """

    def __init__(self, model: str | None = None, *, context: int | None = None,
                 batch: int | None = None, dtype: str = AUTO, device: str = "cpu",
                 threads: int | None = None, progress: bool = False,
                 stepper_kind: str = AUTO, rows: int | None = None,
                 keep: int | None = None, adapt: str | None = AUTO,
                 tune: str | None = AUTO, mix: str | None = AUTO, allow_stored: bool = True):
        if context is not None and not 4 <= context <= container.MAX_CONTEXT:
            raise InputError(f"context must be 4..{container.MAX_CONTEXT} tokens, not {context}")
        if batch is not None and not 1 <= batch <= container.MAX_BATCH:
            raise InputError(f"batch must be 1..{container.MAX_BATCH}, not {batch}")
        if threads is not None and not 1 <= threads <= container.MAX_THREADS:
            raise InputError(f"threads must be 1..{container.MAX_THREADS}, not {threads}")
        if dtype != AUTO and dtype not in models.DTYPES:
            raise InputError(f"unknown dtype '{dtype}' (choose from {AUTO}, {', '.join(models.DTYPES)})")
        self.model_spec = model or models.DEFAULT_MODEL
        self.model_given = model is not None
        self.context = context
        self.batch = batch    # independent segments: None = the front end's (batch_for)
        self.dtype = dtype    # new containers: this, or with AUTO dtype_for(front end); decode: the header's
        self.device = check_device(device)
        self.threads = min(threads or determinism.default_threads(), container.MAX_THREADS)
        self.progress = progress
        # new containers: this, or with AUTO the front end's (stepper_for); decode: the header's
        self.stepper = stepper_kind if stepper_kind == AUTO else stepper.check_kind(stepper_kind)
        if rows is not None and not 1 <= rows <= container.MAX_BATCH:
            raise InputError(f"rows must be 1..{container.MAX_BATCH}, not {rows}")
        if adapt not in (None, AUTO, *adaptlib.VERSIONS):
            raise InputError(f"unknown adaptation '{adapt}' (choose from {', '.join(adaptlib.VERSIONS)})")
        if tune not in (None, AUTO, *online.VERSIONS):
            raise InputError(f"unknown online tuning '{tune}' (choose from {', '.join(online.VERSIONS)})")
        if mix not in (None, AUTO, *pixmix.VERSIONS):
            raise InputError(f"unknown pixel mixing '{mix}' (choose from {', '.join(pixmix.VERSIONS)})")
        if keep is not None and keep < 0:
            raise InputError(f"keep must be at least 0, not {keep}")
        self.rows = rows      # carried context: None = auto_rows(tokens)
        self.keep = keep      # carried context: None = KEEP_FRACTION of the context
        self.adapt = adapt    # carried context: None = no adaptation, AUTO = the modality's default
        self.tune = tune      # independent segments: None = no online tuning, AUTO = the front end's
        self.mix = mix        # independent 8-bit image segments: None = no pixel mixing, AUTO = the front end's
        self.allow_stored = allow_stored
        self._cache: dict[tuple[str, str, str], models.LoadedModel] = {}
        self.last = Stats()

    # -- model --------------------------------------------------------------------------------
    def loaded(self, spec: str | None = None, dtype: str | None = None) -> models.LoadedModel:
        """The model `spec` (default: this Compressor's) in `dtype` (default: the one new text
        containers get, dtype_for), loaded once."""
        key = (spec or self.model_spec, dtype or self.dtype_for(), self.device)
        if key not in self._cache:
            self._cache[key] = models.load(key[0], dtype=key[1], device=key[2])
        return self._cache[key]

    def dtype_for(self, frontend=None) -> str:
        """The dtype new containers of this front end get: the one asked for, else the front end's
        `coder_dtype` (the media front ends keep the float32 their byte models were measured in),
        else default_dtype for this device."""
        if self.dtype != AUTO:
            return self.dtype
        return getattr(frontend, "coder_dtype", None) or default_dtype(self.device)

    def stepper_for(self, frontend=None, context: int | None = None) -> str:
        """The stepper new containers of this front end get: the one asked for, else the front
        end's `coder_stepper`, else stepper.DEFAULT (carried context). A front end's kv-primed/1
        gives way to kv-growing/2 at a `context` too short for segments as long as their prime
        (a small model's test context): priming pays for the rows it adds only on longer segments.
        Asked for by name, kv-primed/1 is kept, down to the least context it can code with."""
        if self.stepper != AUTO:
            return self.stepper
        kind = getattr(frontend, "coder_stepper", None) or stepper.DEFAULT
        if kind == stepper.PRIMED and context is not None and context < 2 * stepper.PRIME[kind] + 1:
            return stepper.GROWING
        return kind

    def batch_for(self, frontend=None) -> int:
        """Segments coded side by side with independent segments: the batch asked for, else the
        front end's `coder_batch`, else its most rows (`coder_rows`), else DEFAULT_BATCH."""
        if self.batch is not None:
            return self.batch
        if getattr(frontend, "coder_batch", None) is not None:
            return frontend.coder_batch
        return getattr(frontend, "coder_rows", (None, DEFAULT_BATCH))[1]

    def context_for(self, lm: models.LoadedModel, frontend=None) -> int:
        """The context new containers are coded with (see the class docstring)."""
        limit = model_positions(lm.model)
        if self.context is None:
            carried = self.stepper_for(frontend) == stepper.CARRIED
            default = DEFAULT_CARRIED_CONTEXT if carried else DEFAULT_CONTEXT
            return min(default, limit) if limit is not None else default
        if limit is not None and self.context > limit:
            raise InputError(f"context {self.context} exceeds the model's {limit} positions "
                             f"({lm.spec}); use --context {limit} or less")
        return self.context

    def _progress(self, total_bytes: int, total_tokens: int, desc: str):
        if not self.progress or total_tokens == 0:
            return None, None
        from tqdm import tqdm

        bar = tqdm(total=total_bytes, unit="B", unit_scale=True, desc=desc, file=sys.stderr,
                   leave=False, dynamic_ncols=True)
        per_token = total_bytes / total_tokens
        return bar, (lambda n: bar.update(n * per_token))

    def frontend_options(self, modality: str, **overrides) -> dict:
        """Front-end options for coding `modality` with this model: those its checkpoint was
        trained with (manifest `recipe.data.frontend`, when the checkpoint is of that modality),
        then `overrides`. A pixel model trained on residuals must be given residuals; decoding
        needs nothing of this, the container's header says what was done."""
        manifest = models.describe(self.model_spec).get("manifest") or {}
        options = {}
        if manifest.get("modality") == modality:
            options = dict(((manifest.get("recipe") or {}).get("data") or {}).get("frontend") or {})
            # a lossy mode is never implied by the model: the caller must ask for it every time
            for name in getattr(frontends.frontend_class(modality), "explicit_options", ()):
                options.pop(name, None)
        options.update(overrides)
        return options

    def frontend(self, modality: str, **overrides):
        """The front end new containers of `modality` are split with (`frontend_options`)."""
        return frontends.get(modality, **self.frontend_options(modality, **overrides))

    # -- compress -----------------------------------------------------------------------------
    def compress(self, data: bytes, *, modality: str = "text", **frontend_options) -> bytes:
        started = time.perf_counter()
        data = bytes(data)
        if len(data) > container.MAX_ORIGINAL:
            raise InputError(f"input of {len(data)} bytes exceeds the format's limit of "
                             f"{container.MAX_ORIGINAL} bytes per container; split it")
        frontend = self.frontend(modality, **frontend_options)
        payload, extras = frontend.split(data)
        lm = self.loaded(dtype=self.dtype_for(frontend))
        context = self.context_for(lm, frontend)
        kind = self.stepper_for(frontend, context)
        determinism.apply(self.threads)
        vocab = model_vocab(lm.model)
        symbolizer = frontend.symbolizer(lm.tokenizer, vocab)
        prefix = prefix_token(lm.tokenizer)
        units = symbolizer.encode_units(payload)
        carried = self.carried_settings(context, sum(len(u) for u in units), frontend)
        prime = stepper.PRIME.get(kind, 0)  # 0 unless kv-primed/1: the cut's room and each batch's primes
        if carried is not None:
            segs = seglib.stretches(units, carried["rows"])
            batch = carried["rows"]
        else:
            if context - prime < 4:
                raise InputError(f"{kind} primes {prime} tokens: it needs a context of at "
                                 f"least {prime + 4}, not {context}")
            segs = seglib.cut(units, context - prime, breaks=_segment_breaks(frontend, extras))
            batch = self.batch_for(frontend)
        seg_bytes = [symbolizer.decode(s) for s in segs]
        if b"".join(seg_bytes) != payload:  # the symbolizer must be exactly invertible
            raise AssertionError("symbolizer round trip failed; refusing to write a lossy container")
        members = container.batch_members(len(segs), batch, kind == stepper.PRIMED)
        header = {
            "format": "lmcompress",
            "modality": frontend.name,
            "frontend": extras,
            "symbolizer": symbolizer.name if hasattr(symbolizer, "name") else "text-table/v1",
            "original_length": len(data),
            "original_sha256": hashlib.sha256(data).hexdigest(),
            "checked_sha256": _checked_sha256(frontend, data, extras),
            "payload_length": len(payload),
            "model": {"id": lm.spec, "base_id": lm.base_id, "sha256": lm.base_sha256},
            "adapter": None if lm.adapter_sha256 is None else {"sha256": lm.adapter_sha256},
            "tokenizer_sha256": symbolizer.table_sha256(),
            "vocab_size": vocab,
            "context": context,
            "batch": batch,
            "dtype": lm.dtype,
            "device": device_kind(self.device, lm.dtype),
            "threads": self.threads,
            "prefix_id": prefix,
            "quantizer": quantize.QUANTIZER_VERSION,
            "stepper": kind,
            "libraries": library_versions(),
            "segments": [int(len(s)) for s in segs],
            "batch_crc32": [zlib.crc32(b"".join(seg_bytes[k] for k in rows)) for rows in members],
        }
        if carried is not None:
            header.update(keep=carried["keep"], adapt=carried["adapt"])
        tune = self.tune_for(frontend, carried is not None)
        if tune is not None:
            header["tune"] = tune
        mix = self.mix_for(frontend, extras, carried is not None)
        if mix is not None:
            header["mix"] = mix
        check_limits(header, lm.model)  # before the expensive part: the decoder's own limits
        geometry = None
        if mix is not None:  # the decoder's own check of the pixel geometry, before coding
            try:
                geometry = mixing_geometry(frontend, header, symbolizer)
            except ContainerError as exc:
                raise InputError(f"cannot mix this input: {exc}") from None
        total_tokens = sum(len(s) for s in segs)
        bar, on_step = self._progress(len(payload), total_tokens, "compress")
        streams, ideal = [], 0.0
        alphabet = getattr(symbolizer, "alphabet", None)
        # one batch is coded with the loaded weights (tuning acts between batches): no copy
        tuner = None if tune is None or len(members) < 2 else online.Tuner(lm.model, tune, prefix, alphabet,
                                                                         self.device)
        model = lm.model if tuner is None else tuner.model
        mixer = None if mix is None else pixmix.PixelMixer(geometry, mix)
        starts = seglib.starts(header["segments"])
        try:
            for b, rows in enumerate(members):
                batch_segs = [segs[k] for k in rows]
                if carried is not None:
                    words, bits = coder.encode_carried(lm.model, batch_segs, prefix,
                                                       context=context, keep=carried["keep"],
                                                       adapt=carried["adapt"], alphabet=alphabet,
                                                       device=self.device, on_step=on_step)
                else:
                    primes = seglib.batch_primes(prime, b, rows, segs, prefix)
                    words, bits = coder.encode_batch(model, batch_segs, prefix,
                                                     alphabet=alphabet, device=self.device,
                                                     stepper_kind=kind, on_step=on_step, primes=primes,
                                                     mixer=mixer, starts=starts[list(rows)])
                streams.append(words)
                ideal += bits
                if tuner is not None and b + 1 < len(members):
                    tuner.learn(batch_segs, primes)
        finally:
            if bar is not None:
                bar.close()
        blob = container.pack_auto(header, streams)  # compact form when it can say it all
        stored = container.pack_stored(data)
        if self.allow_stored and len(stored) <= len(blob):  # coding would not make it smaller
            blob = stored
        self.check_decodable(blob, lm)
        self.last = Stats(tokens=total_tokens, seconds=time.perf_counter() - started, ideal_bits=ideal)
        return blob

    def adapt_for(self, frontend) -> str | None:
        """The adaptation new containers of this front end's modality get (see AUTO)."""
        if self.adapt != AUTO:
            return self.adapt
        return getattr(frontend, "coder_adapt", DEFAULT_ADAPT)

    def tune_for(self, frontend, carried: bool, asked: str | None = AUTO) -> str | None:
        """The online tuning new containers of this front end get (compress/core/online.py): the
        one asked for (`asked`, by default this compressor's `tune`), else the front end's
        `coder_tune` (none by default). It works between batches of independent segments; carried
        context codes one batch, so it has none, and asking for one there is refused."""
        asked = self.tune if asked == AUTO else asked
        tune = getattr(frontend, "coder_tune", None) if asked == AUTO else asked
        if carried and tune is not None:
            if asked != AUTO:
                raise InputError("online tuning works between batches of independent segments; "
                                 "carried context codes one batch (use --stepper kv-growing/2)")
            return None
        return tune

    def mix_for(self, frontend, extras: dict, carried: bool, asked: str | None = AUTO) -> str | None:
        """The pixel mixing new containers of this input get (compress/core/pixmix.py): the one
        asked for (`asked`, by default this compressor's `mix`), else the front end's `coder_mix`
        where its `mix_default(extras)` says so (residual image payloads). Asked for where it cannot
        work (carried context, a front end without a pixel geometry), it is an InputError."""
        asked = self.mix if asked == AUTO else asked
        if asked == AUTO:
            if carried or not getattr(frontend, "mix_default", lambda _: False)(extras):
                return None
            return frontend.coder_mix
        if asked is not None and carried:
            raise InputError("pixel mixing works on independent segments, not under carried context")
        if asked is not None and getattr(frontend, "mix_geometry", None) is None:
            raise InputError(f"pixel mixing needs an image; this is {frontend.name}")
        return asked

    def carried_settings(self, context: int, tokens: int, frontend) -> dict | None:
        """{rows, keep, adapt} new containers are coded with under carried context, else None."""
        if self.stepper_for(frontend) != stepper.CARRIED:
            return None
        rows = self.rows or auto_rows(tokens, *getattr(frontend, "coder_rows", (TOKENS_PER_ROW, MAX_AUTO_ROWS)))
        rows = max(rows, -(-tokens // (container.MAX_CONTEXT - 4)))  # a stretch's length limit
        keep = int(KEEP_FRACTION * context) if self.keep is None else self.keep
        if keep > context - 2:
            raise InputError(f"keep must be at most context-2 ({context - 2}), not {keep}")
        return {"rows": rows, "keep": keep, "adapt": self.adapt_for(frontend)}

    def check_decodable(self, blob: bytes, lm: models.LoadedModel | None = None) -> dict:
        """Run every check the decoder runs before decoding (header schema, front-end extras,
        model identity, limits) on a container, with the model `lm` (default: this Compressor's).
        The encoder calls it on what it is about to write and `lmcompress --rm` on what it wrote
        back from disk: a container that fails it is never written, and its input never removed.
        Returns the header."""
        try:
            parsed = frontends.parse(blob)
            if container.is_stored(parsed.header):
                return parsed.header
            lm = lm or self.loaded(dtype=parsed.header["dtype"])
            if parsed.header["payload_length"]:
                symbolizer = frontends.get(parsed.header["modality"]).symbolizer(
                    lm.tokenizer, model_vocab(lm.model))
                self.check_compatible(parsed.header, lm, symbolizer)
        except (ContainerError, MismatchError) as exc:
            raise InputError(f"refusing to write a container the decoder would refuse: {exc}") from None
        return parsed.header

    # -- decompress ---------------------------------------------------------------------------
    def check_compatible(self, header: dict, lm: models.LoadedModel, symbolizer) -> None:
        """Raise MismatchError naming the first setting the loaded model cannot reproduce."""
        want_model = header["model"]
        if not container.digest_matches(want_model["sha256"], lm.base_sha256):
            raise MismatchError(
                f"model mismatch: the container was made with base model "
                f"{want_model['base_id'][:200] or '(not recorded)'} "
                f"(sha256 {want_model['sha256'][:16]}…), but {lm.spec} has sha256 "
                f"{lm.base_sha256[:16]}…; pass the right model with -m"
            )
        want_adapter = (header.get("adapter") or {}).get("sha256")
        if not container.digest_matches(want_adapter, lm.adapter_sha256):
            raise MismatchError(_adapter_mismatch(want_adapter, lm.adapter_sha256, lm.spec))
        if header["dtype"] != lm.dtype:
            raise MismatchError(f"dtype mismatch: the container was coded in {header['dtype']}, the "
                                f"model is loaded in {lm.dtype}")
        if header["symbolizer"] != getattr(symbolizer, "name", "text-table/v1"):
            raise MismatchError("symbolizer mismatch between the container and its modality")
        if not container.digest_matches(header["tokenizer_sha256"], symbolizer.table_sha256()):
            raise MismatchError("tokenizer mismatch: the model's vocabulary differs from the container's")
        if header.get("vocab_size") != model_vocab(lm.model):
            raise MismatchError("vocabulary size mismatch between the container and the model")
        if header["quantizer"] != quantize.QUANTIZER_VERSION:
            raise MismatchError(
                f"quantizer mismatch: container uses {header['quantizer']}, this lmcompress "
                f"implements {quantize.QUANTIZER_VERSION}"
            )
        kind = container.header_stepper(header)
        if kind not in stepper.KINDS:
            raise MismatchError(f"stepper mismatch: container uses {kind}, this lmcompress implements "
                                f"{', '.join(stepper.KINDS)}")
        if header.get("adapt") is not None and header["adapt"] not in adaptlib.VERSIONS:
            raise MismatchError(f"adaptation mismatch: container uses {header['adapt']}, this "
                                f"lmcompress implements {', '.join(adaptlib.VERSIONS)}")
        if header.get("tune") is not None and header["tune"] not in online.VERSIONS:
            raise MismatchError(f"online tuning mismatch: container uses {header['tune']}, this "
                                f"lmcompress implements {', '.join(online.VERSIONS)}")
        if header.get("mix") is not None and header["mix"] not in pixmix.VERSIONS:
            raise MismatchError(f"pixel mixing mismatch: container uses {header['mix']}, this "
                                f"lmcompress implements {', '.join(pixmix.VERSIONS)}")
        if header["prefix_id"] != prefix_token(lm.tokenizer):
            raise MismatchError("prefix token mismatch between the container and the tokenizer")
        check_limits(header, lm.model)
        if header.get("mix") is not None:
            mixing_geometry(frontends.get(header["modality"]), header, symbolizer)

    def warnings_for(self, header: dict) -> list[str]:
        """Differences that may change the bits but cannot be checked before decoding."""
        if container.is_stored(header):  # no model computed anything
            return []
        out = []
        have = library_versions()
        for name in ("torch", "transformers", "constriction"):
            want = header.get("libraries", {}).get(name)
            if want and want != have.get(name):
                out.append(f"container made with {name} {want}, decoding with {have.get(name)}")
        here = device_kind(self.device, header["dtype"])
        if header.get("device") and header["device"] != here:
            out.append(f"container made on {header['device']}, decoding on {here}")
        return out

    def decoding_model(self, header: dict, model: str | None = None) -> str:
        """The model spec that decodes `header`: the caller's, or the embedded alias the header
        names. A container cannot choose a path or hub id to load: MismatchError names it."""
        if model is not None:
            return model
        named = header["model"]["id"]
        if named in models.ALIASES:
            return named
        if self.model_given:
            return self.model_spec
        if not named:  # the compact form names registered aliases only
            raise MismatchError("the container does not name its model (it was not an embedded "
                                "alias); pass that model with -m")
        raise MismatchError(
            f"the container was made with model '{named[:200]}', which is not an embedded alias; "
            "a container never chooses what is loaded: pass that model with -m"
        )

    def open(self, blob: bytes, *, model: str | None = None) -> Opened:
        """Parse and check a container and load its model, checking identity before any decoding
        work (the adapter's file hash even before the base model is loaded)."""
        parsed = frontends.parse(blob)
        header = parsed.header
        if parsed.stored is not None:  # the input as is: no model, no front end
            return Opened(header, [], None, None, parsed.stored)
        frontend = frontends.get(header["modality"])
        if header["payload_length"] == 0:
            return Opened(header, parsed.streams, None, None)
        spec = self.decoding_model(header, model)
        want_adapter = (header.get("adapter") or {}).get("sha256")
        have_adapter = models.adapter_sha256(spec)
        if not container.digest_matches(want_adapter, have_adapter):
            raise MismatchError(_adapter_mismatch(want_adapter, have_adapter, spec))
        lm = self.loaded(spec, header["dtype"])
        symbolizer = frontend.symbolizer(lm.tokenizer, model_vocab(lm.model))
        self.check_compatible(header, lm, symbolizer)
        return Opened(header, parsed.streams, lm, symbolizer)

    def decompress(self, blob: bytes, *, model: str | None = None) -> bytes:
        started = time.perf_counter()
        opened = self.open(blob, model=model)
        header = opened.header
        if opened.stored is not None:
            if len(opened.stored) != header["original_length"] or \
                    zlib.crc32(opened.stored) != header["original_crc32"]:
                raise ChecksumError("checksum mismatch: the stored data differs from the original (CRC-32)")
            self.last = Stats(seconds=time.perf_counter() - started)
            return opened.stored
        frontend = frontends.get(header["modality"])
        payload, tokens = b"", 0
        if opened.lm is not None:
            payload = self.decode_payload(opened)
            tokens = sum(header["segments"])
        if len(payload) != header["payload_length"]:
            raise ChecksumError("decoded payload length differs from the container's")
        extras = header.get("frontend", {})
        data = frontend.join(payload, extras)
        if extras.get("reencoded"):  # the file layout was rebuilt; check what it holds instead
            if not container.digest_matches(header.get("checked_sha256"),
                                            _checked_sha256(frontend, data, extras)):
                raise ChecksumError("checksum mismatch: decoded content differs from the original "
                                    "(sha256 of the front end's canonical bytes)")
        else:
            if len(data) != header["original_length"]:
                raise ChecksumError("decoded length differs from the container's original length")
            if not container.digest_matches(header["original_sha256"], hashlib.sha256(data).hexdigest()):
                raise ChecksumError("checksum mismatch: decoded bytes differ from the original (sha256)")
        self.last = Stats(tokens=tokens, seconds=time.perf_counter() - started)
        return data

    def decode_batches(self, opened: Opened, wanted=None):
        """Yield the payload bytes of each batch in order (of the batch indices in `wanted` only,
        when given), each checked against its CRC-32. A container coded with online tuning
        (header "tune") or primed segments (kv-primed/1) decodes every batch up to the last one
        wanted: each batch's weights were tuned on, and its primes taken from, the batches before
        it. Under kv-primed/1 a batch's bytes are its striped segments (container.batch_members),
        not a stretch of the payload: `decode_payload` puts them back in order."""
        for _rows, pieces in self._decoded(opened, wanted):
            yield b"".join(pieces)

    def decode_payload(self, opened: Opened) -> bytes:
        """The whole payload: every batch decoded and checked, segments in payload order."""
        pieces: list[bytes] = [b""] * len(opened.header["segments"])
        for rows, batch_pieces in self._decoded(opened, None):
            for k, piece in zip(rows, batch_pieces, strict=True):
                pieces[k] = piece
        return b"".join(pieces)

    def _decoded(self, opened: Opened, wanted):
        """The one decoding loop (whole files, video random access): yields (segment indices,
        their bytes) per batch wanted, in batch order."""
        header, lm, symbolizer = opened.header, opened.lm, opened.symbolizer
        segs_len = header["segments"]
        alphabet = getattr(symbolizer, "alphabet", None)
        members = container.header_members(header)
        kind = container.header_stepper(header)  # the container's stepper, never this Compressor's
        todo = range(len(members)) if wanted is None else sorted(set(wanted))
        tuner = None
        mixed = header.get("mix") is not None
        if len(todo) and max(todo) > 0 and (header.get("tune") is not None or kind == stepper.PRIMED or mixed):
            todo = range(max(todo) + 1)
        if header.get("tune") is not None and len(todo) > 1:
            # each batch was coded with weights tuned on all those before it
            tuner = online.Tuner(lm.model, header["tune"], header["prefix_id"], alphabet, self.device)
        model = lm.model if tuner is None else tuner.model
        # every batch's steps were mixed under what the batches before it taught the mixer
        mixer = pixmix.PixelMixer(mixing_geometry(frontends.get(header["modality"]), header, symbolizer),
                                  header["mix"]) if mixed and len(todo) else None
        starts = seglib.starts(segs_len)
        tokens = sum(segs_len[k] for b in todo for k in members[b])
        bar, on_step = self._progress(header["payload_length"], max(tokens, 1), "decompress")
        determinism.apply(header["threads"])
        prime = stepper.PRIME.get(kind, 0)
        known: dict[int, np.ndarray] = {}  # the batch before's segments: the next batch's primes
        try:
            for b in todo:
                rows = members[b]
                where = f"batch {b} (segments {rows.start}-{rows[-1]}" + \
                    (")" if rows.step == 1 else f" in steps of {rows.step})")
                lengths = [segs_len[k] for k in rows]
                primes = seglib.batch_primes(prime, b, rows, known, header["prefix_id"])
                try:
                    if kind == stepper.CARRIED:
                        decoded = coder.decode_carried(model, lengths, opened.streams[b],
                                                       header["prefix_id"], context=header["context"],
                                                       keep=header["keep"], adapt=header["adapt"],
                                                       alphabet=alphabet, device=self.device,
                                                       on_step=on_step)
                    else:
                        decoded = coder.decode_batch(model, lengths, opened.streams[b],
                                                     header["prefix_id"], alphabet=alphabet,
                                                     device=self.device, stepper_kind=kind,
                                                     on_step=on_step, primes=primes,
                                                     mixer=mixer, starts=starts[list(rows)])
                except (ValueError, RuntimeError, OverflowError) as exc:  # constriction rejects words
                    raise ChecksumError(f"{where}: payload is damaged ({exc})") from None
                try:
                    pieces = [symbolizer.decode(ids) for ids in decoded]
                except ContainerError as exc:
                    raise ChecksumError(f"{where} failed to decode: {exc}") from None
                if zlib.crc32(b"".join(pieces)) != header["batch_crc32"][b]:
                    raise ChecksumError(
                        f"checksum mismatch in {where}: the payload is damaged or the model's "
                        "probabilities differ from the encoder's"
                    )
                if kind == stepper.PRIMED:  # batch b's predecessors are exactly batch b-1's rows
                    known = dict(zip(rows, decoded, strict=True))
                if tuner is not None and b < todo[-1]:
                    tuner.learn(decoded, primes)
                if wanted is None or b in wanted:
                    yield rows, pieces
        finally:
            if bar is not None:
                bar.close()

    # -- measurement --------------------------------------------------------------------------
    def score(self, data: bytes, *, modality: str = "text", batch: int = 8, tune: str | None = None,
              **frontend_options):
        """Ideal bits of `data` from the fast parallel pass (measurement only, never coding), under
        the layout and adaptation `compress` would use with these settings. `tune`: None measures
        the loaded model as it is; AUTO the online tuning `compress` would use (tune_for), or a
        version's name: each coder batch is then scored with the weights tuned on the batches
        before it, the figure a tuned container's payload comes close to (online.py)."""
        from compress.core.scoring import score_bytes

        frontend = self.frontend(modality, **frontend_options)
        payload, extras = frontend.split(bytes(data))
        lm = self.loaded(dtype=self.dtype_for(frontend))
        determinism.apply(self.threads)
        symbolizer = frontend.symbolizer(lm.tokenizer, model_vocab(lm.model))
        context = self.context_for(lm, frontend)
        carried = None
        if self.stepper_for(frontend) == stepper.CARRIED:
            tokens = sum(len(u) for u in symbolizer.encode_units(payload))
            carried = self.carried_settings(context, tokens, frontend)
        kind = self.stepper_for(frontend, context)
        primed = (stepper.PRIME[kind], self.batch_for(frontend)) if kind == stepper.PRIMED else None
        tuned = None
        name = None if tune is None else self.tune_for(frontend, carried is not None, tune)
        if name is not None:
            tuned = (online.Tuner(lm.model, name, prefix_token(lm.tokenizer),
                                  getattr(symbolizer, "alphabet", None), self.device), self.batch_for(frontend))
        mixed = None
        mix = self.mix_for(frontend, extras, carried is not None)
        if mix is not None:
            header = {"frontend": extras, "payload_length": len(payload),
                      "segments": [sum(len(u) for u in symbolizer.encode_units(payload))]}
            mixed = (pixmix.PixelMixer(mixing_geometry(frontend, header, symbolizer), mix), self.batch_for(frontend))
        result = score_bytes(lm.model, symbolizer, payload, context=context, batch=batch,
                             prefix_id=prefix_token(lm.tokenizer), device=self.device,
                             breaks=_segment_breaks(frontend, extras), carried=carried, primed=primed,
                             tuned=tuned, mixed=mixed)
        result.bytes = len(data)
        result.mix = mix
        return result


def mixing_geometry(frontend, header: dict, symbolizer) -> pixmix.Geometry:
    """The pixel geometry of a header that asks for pixel mixing ("mix"), checked: the front end
    must place 8-bit samples in the payload (image), one token per payload byte over a 256-symbol
    alphabet, covering exactly the payload. ContainerError otherwise: one check for both ends (the
    encoder runs it before coding, the decoder before decoding)."""
    where = getattr(frontend, "mix_geometry", None)
    geometry = None if where is None else where(header["frontend"], header["payload_length"])
    alphabet = getattr(symbolizer, "alphabet", None)
    if geometry is None or alphabet is None or len(alphabet) != pixmix.SYMBOLS:
        raise ContainerError("corrupt header: pixel mixing needs an image of 8-bit samples coded byte by byte")
    if sum(header["segments"]) != header["payload_length"]:
        raise ContainerError("corrupt header: the image's samples do not match its payload")
    return geometry


def _adapter_mismatch(want: str | None, have: str | None, spec: str) -> str:
    have_text = "no adapter" if have is None else f"adapter {have[:16]}…"
    want_text = "no adapter" if want is None else f"adapter {want[:16]}…"
    return f"adapter mismatch: the container needs {want_text}, but {spec[:200]} has {have_text}"
