"""The measuring library behind `python -m evaluation.evaluate`: a recipe's test (and validation)
bytes rebuilt with the trainer's own config, corpus loader and split; the fast scoring pass; and
the coded round trip of the same bytes, sharded so that 1 or N processes give the same totals.
The command (evaluation/evaluate.py) and the curves (evaluation/curves.py) both use it; see the
command's docstring for what is reported and why.
"""

from __future__ import annotations

import bisect
import hashlib
import sys
import time
from pathlib import Path

from compress.core.errors import LMCompressError

ROOT = Path(__file__).resolve().parent.parent
FORMAT = "lmcompress-eval/1"


# -- the test bytes -----------------------------------------------------------------------------
def read_manifest(checkpoint) -> dict:
    """compress.core.models.read_manifest, but a directory without one is an error here."""
    from compress.core import models
    from train.errors import CheckpointError

    manifest = models.read_manifest(str(checkpoint))
    if manifest is None:
        raise CheckpointError(f"{checkpoint} is not an lmcompress checkpoint (no {models.MANIFEST_NAME})")
    return manifest


def split_part(cfg, manifest: dict | None = None, name: str = "test") -> tuple[bytes, list[int], dict]:
    """(bytes of one split part, document ends relative to it, split record).

    With a manifest the corpus is rebuilt from the manifest's recorded data config (unless the
    command line gives data.path) and checked against the manifest's split record: another corpus
    raises DataError. Without one, the split is computed from the config, exactly as training does."""
    from omegaconf import OmegaConf

    from train import corpus, split

    if manifest is not None:
        data_cfg = OmegaConf.create(manifest["recipe"]["data"])
        if cfg.data.path:
            data_cfg.path = corpus.absolute_paths(cfg.data.path)
        limit = manifest["recipe"]["split"]["total_bytes"]
        built = corpus.load(data_cfg, limit)
        record = manifest["split"]
    else:
        limit = cfg.split.total_bytes
        built = corpus.load(cfg.data, limit)
        record = split.make_record(built.data, built.ends, train_bytes=cfg.split.train_bytes,
                                   val_bytes=cfg.split.val_bytes, total_bytes=limit,
                                   source=built.source)
    data = split.part_bytes(record, built.data, name)  # DataError unless the sha256 matches
    t = record[name]
    ends = [e - t["offset"] for e in built.ends if t["offset"] < e <= t["end"]]
    return data, ends, record


def test_part(cfg, manifest: dict | None = None) -> tuple[bytes, list[int], dict]:
    """(test bytes, document ends relative to the test part, split record): `split_part(..., "test")`."""
    return split_part(cfg, manifest, "test")


def test_source_cfg(cfg, manifest: dict | None = None):
    """The data config of a separate test corpus (`test.path` or `test.hub` with an id), or None.

    It keeps the training data config's modality, front end and text sampling (the model codes the
    test corpus as it was trained to), with the source replaced: so a checkpoint fine-tuned on
    LibriSpeech is tested on LJSpeech through the same front end. Naming the training source itself
    is refused: its bytes include the training part. (train/schema.py refuses both sources at once.)"""
    from omegaconf import OmegaConf

    from train import corpus
    from train.errors import ConfigError

    path, hub = cfg.test.path, cfg.test.hub if cfg.test.hub.id is not None else None
    if not path and not hub:
        return None
    base = OmegaConf.create(manifest["recipe"]["data"]) if manifest is not None else OmegaConf.create(
        OmegaConf.to_container(cfg.data, resolve=True))
    trained = (corpus.absolute_paths(base.path) if base.get("path") else
               (base.hub.get("id"), base.hub.get("revision"), base.hub.get("data_files"), base.hub.get("config")))
    if path:
        base.path = corpus.absolute_paths(path)
        same = base.path == trained
    else:
        base.path = None
        # a hub test source takes nothing of the training repo but its mirror root, field and
        # separator, and those only where it leaves them unset
        base.hub = {k: cfg.data.hub[k] if v is None and k in ("root", "field", "separator") else v
                    for k, v in OmegaConf.to_container(hub, resolve=True).items()}
        same = (base.hub.get("id"), base.hub.get("revision"), base.hub.get("data_files"),
                base.hub.get("config")) == trained
    if same:
        raise ConfigError("the test source is the training corpus; leave test.path and test.hub null to "
                          "test on its held-out split part")
    return base


def source_part(data_cfg, limit: int) -> tuple[bytes, list[int], dict]:
    """(bytes, document ends, description) of a whole test corpus, read up to `limit` bytes."""
    from train import corpus

    built = corpus.load(data_cfg, limit)
    data = built.data[:limit]
    ends = [e for e in built.ends if e <= len(data)]
    return data, ends, {"source": built.source, "bytes": len(data), "documents": len(ends),
                        "sha256": hashlib.sha256(data).hexdigest()}


def shard_plan(ends: list[int], total: int, shard_bytes: int) -> list[tuple[int, int]]:
    """Contiguous (start, end) shards covering [0, total), cut at document ends.

    Each shard ends at the last document end <= start + shard_bytes (or, when one document is
    longer, at the first end after it); a pure function of (ends, total, shard_bytes), never of the
    number of processes. `total` is itself a cut (a truncated test part ends mid-document)."""
    if shard_bytes < 1:
        raise ValueError("shard_bytes must be >= 1")
    cuts = sorted({e for e in ends if 0 < e < total} | {total}) if total > 0 else []
    shards, start = [], 0
    while start < total:
        k = bisect.bisect_right(cuts, start + shard_bytes)
        end = cuts[k - 1] if k and cuts[k - 1] > start else cuts[bisect.bisect_right(cuts, start)]
        shards.append((start, end))
        start = end
    return shards


def assign(n_shards: int, rank: int, world: int) -> list[int]:
    """The shard indices process `rank` of `world` handles: round robin."""
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} outside 0..{world - 1}")
    return list(range(rank, n_shards, world))


# -- per-process work ---------------------------------------------------------------------------
def coded_as(cfg) -> tuple[str, dict]:
    """(modality, front-end options) the shards are scored and coded with. A text corpus is the
    files' bytes; an audio, image or video corpus holds its front end's payloads (train/corpus.py:
    what the model trains and validates on), so those are coded as `bytes`, one token per byte with
    the same byte symbolizer, and the front end's side information (file headers, predictor
    coefficients) is not in these containers: evaluation measures the model on its payload, and
    bench/audio_model.py, bench/image_model.py measure whole files."""
    if cfg.data.modality == "text":
        return "text", dict(cfg.data.frontend)
    return "bytes", {}


def evaluate_shards(compressor, data: bytes, shards: list[tuple[int, int]], mine: list[int], *,
                    roundtrip: bool, score_batch: int, modality: str = "text", frontend: dict | None = None,
                    progress=None) -> list[dict]:
    """Score (and, if `roundtrip`, compress + decompress + verify) the shards this process owns."""
    from compress.core import container

    out = []
    for i in mine:
        start, end = shards[i]
        chunk = data[start:end]
        row = {"index": i, "start": start, "end": end, "bytes": len(chunk)}
        t0 = time.perf_counter()
        score = compressor.score(chunk, modality=modality, batch=score_batch, **(frontend or {}))
        row.update(score_bits=score.bits, tokens=score.tokens, score_seconds=time.perf_counter() - t0)
        fe = compressor.frontend(modality, **(frontend or {}))
        layout = compressor.carried_settings(compressor.context_for(compressor.loaded(), fe), score.tokens, fe)
        if layout is not None:  # the rows and keep this shard's tokens get (auto when not set)
            row.update(rows=layout["rows"], keep=layout["keep"])
        if roundtrip:
            t0 = time.perf_counter()
            blob = compressor.compress(chunk, modality=modality, **(frontend or {}))
            t1 = time.perf_counter()
            back = compressor.decompress(blob)
            t2 = time.perf_counter()
            row.update(container_bytes=len(blob), header_bytes=container.stored_header_length(blob),
                       compress_seconds=t1 - t0, decompress_seconds=t2 - t1, roundtrip_ok=back == chunk)
        out.append(row)
        if progress is not None:
            progress(row)
    return out


def summarize(rows: list[dict], shards: list[tuple[int, int]], *, roundtrip_shards: int) -> dict:
    """Totals over all shards, summed in shard order (the same for any process count)."""
    rows = sorted(rows, key=lambda r: r["index"])
    if [r["index"] for r in rows] != list(range(len(shards))):
        raise LMCompressError(f"evaluation lost shards: got {len(rows)} of {len(shards)}")
    nbytes = sum(r["bytes"] for r in rows)
    bits = sum(r["score_bits"] for r in rows)
    result = {"scoring": {"bytes": nbytes, "bits": bits, "tokens": sum(r["tokens"] for r in rows),
                          "bits_per_byte": bits / nbytes if nbytes else 0.0,
                          "seconds": sum(r["score_seconds"] for r in rows),
                          "method": "compress.core.scoring (parallel pass, measurement only), per shard"}}
    rt = [r for r in rows if "container_bytes" in r]
    if roundtrip_shards:
        if len(rt) != roundtrip_shards:
            raise LMCompressError(f"round trip missing for {roundtrip_shards - len(rt)} shards")
        b = sum(r["bytes"] for r in rt)
        c = sum(r["container_bytes"] for r in rt)
        cs, ds = sum(r["compress_seconds"] for r in rt), sum(r["decompress_seconds"] for r in rt)
        h = sum(r.get("header_bytes", 0) for r in rt)
        scored = sum(r["score_bits"] for r in rt)
        result["roundtrip"] = {
            "bytes": b, "container_bytes": c, "shards": len(rt),
            # the coded streams alone against the scoring pass on the same shards: how faithful
            # the coder is; the headers (~200-250 B per container, one per shard) come on top
            "header_bytes": h, "stream_bits_per_byte": 8 * (c - h) / b if b else None,
            "scoring_bits_per_byte_same_bytes": scored / b if b else None,
            "stream_vs_scoring": (8 * (c - h) / scored - 1) if scored else None,
            "verified": all(r["roundtrip_ok"] for r in rt),
            "failed_shards": [r["index"] for r in rt if not r["roundtrip_ok"]],
            "ratio": b / c if c else None, "bits_per_byte": 8 * c / b if b else None,
            "compress_seconds": cs, "decompress_seconds": ds,
            "compress_bytes_per_s": b / cs if cs else None, "decompress_bytes_per_s": b / ds if ds else None,
            "method": "compress.core.engine.Compressor compress -> decompress -> byte-exact comparison, "
                      "one container per shard; throughput = bytes / summed per-process seconds",
        }
    return result


# -- driver -------------------------------------------------------------------------------------
def process_state():
    import torch
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    cpu = parse_flag_from_env("ACCELERATE_USE_CPU") or not torch.cuda.is_available()
    return PartialState(cpu=cpu)


def _gather(state, rows: list[dict]) -> list[dict]:
    if state.num_processes == 1:
        return rows
    from accelerate.utils import gather_object

    return gather_object(rows)


def model_spec(cfg, manifest: dict | None) -> tuple[str, str, int]:
    """(model spec, dtype, context) for the Compressor: the checkpoint's, else the config's base."""
    if manifest is not None:
        return (cfg.checkpoint, manifest.get("base_model", {}).get("dtype") or cfg.model.dtype,
                manifest.get("context", cfg.context))
    return cfg.model.id, cfg.model.dtype, cfg.context


def _measure(cfg, compressor, state, data: bytes, ends: list[int], *, label: str, quiet: bool) -> dict:
    """Score (and round trip a prefix of) `data` over all processes; on the main process a dict of
    the planned sizes, the gathered shard rows and their totals (`summarize`), elsewhere None.
    Budgets: eval.test_bytes scored, eval.roundtrip_bytes of them round tripped."""
    n_test = len(data) if cfg.eval.test_bytes is None else min(len(data), cfg.eval.test_bytes)
    n_rt = n_test if cfg.eval.roundtrip_bytes is None else min(n_test, cfg.eval.roundtrip_bytes)
    shard_bytes = cfg.eval.shard_bytes
    # round-trip shards first: the prefix [0, n_rt) is planned on its own, the rest after it
    rt_shards = shard_plan(ends, n_rt, shard_bytes) if n_rt else []
    rest = [(s + n_rt, e + n_rt) for s, e in shard_plan([e - n_rt for e in ends if e > n_rt],
                                                          n_test - n_rt, shard_bytes)]
    shards = rt_shards + rest
    mine = assign(len(shards), state.process_index, state.num_processes)
    modality, frontend = coded_as(cfg)
    started = time.perf_counter()

    def note(row):
        if not quiet:
            msg = (f"[{state.process_index}] {label} shard {row['index'] + 1}/{len(shards)}: {row['bytes']} B, "
                   f"{row['score_bits'] / max(1, row['bytes']):.4f} bpb")
            if "container_bytes" in row:
                msg += (f", container {row['container_bytes']} B, round trip "
                        f"{'ok' if row['roundtrip_ok'] else 'FAILED'}")
            print(msg, file=sys.stderr, flush=True)

    rows = []
    for i in mine:
        rows += evaluate_shards(compressor, data, shards, [i], roundtrip=i < len(rt_shards),
                                score_batch=cfg.eval.batch, modality=modality,
                                frontend=frontend, progress=note)
    wall = time.perf_counter() - started
    for r in rows:
        r["process"] = state.process_index
    gathered = _gather(state, rows)
    walls = _gather(state, [{"process": state.process_index, "seconds": wall}])
    if not state.is_main_process:
        return None
    return {"n_test": n_test, "n_rt": n_rt, "shard_bytes": shard_bytes, "shards": shards,
            "rt_shards": len(rt_shards), "wall": max(w["seconds"] for w in walls),
            "rows": sorted(gathered, key=lambda r: r["index"]),
            "totals": summarize(gathered, shards, roundtrip_shards=len(rt_shards))}


def evaluate(cfg, *, spec: str | None = None, data: bytes | None = None, ends: list[int] | None = None,
             record: dict | None = None, state=None, quiet: bool = False) -> dict | None:
    """Evaluate one model on the test bytes; the result dict on the main process, None elsewhere.

    The test bytes are the split's test part, or, with `test.path`/`test.hub`, a separate corpus
    (`test_source_cfg`); then the split's validation part is measured too and reported apart, as
    `validation`. `spec`/`data`/`ends`/`record` let a caller (curves, the demo) reuse test bytes
    already built (the split's test part)."""
    from compress.core.engine import Compressor

    state = state or process_state()
    manifest = read_manifest(cfg.checkpoint) if cfg.checkpoint else None
    source_cfg = test_source_cfg(cfg, manifest) if data is None else None
    source = None
    if data is None and source_cfg is None:
        data, ends, record = test_part(cfg, manifest)
    elif data is None:
        val, val_ends, record = split_part(cfg, manifest, "validation")
        limit = cfg.eval.test_bytes if cfg.eval.test_bytes is not None else cfg.split.total_bytes
        data, ends, source = source_part(source_cfg, limit)
    default_spec, dtype, context = model_spec(cfg, manifest)
    spec = spec or default_spec
    # the coder's context: eval.context, else the coder's default (carried context: 2048 positions,
    # or the model's limit); the training context only bounds what the model saw while tuning
    compressor = Compressor(spec, context=cfg.eval.context, batch=cfg.eval.coder_batch, dtype=dtype,
                            device=str(state.device), threads=cfg.eval.threads)
    measured = _measure(cfg, compressor, state, data, ends, label="test", quiet=quiet)
    validation = (_measure(cfg, compressor, state, val, val_ends, label="validation", quiet=quiet)
                  if source is not None else None)
    if not state.is_main_process:
        return None
    lm = compressor.loaded()
    modality, frontend_options = coded_as(cfg)
    n_test, n_rt = measured["n_test"], measured["n_rt"]
    if source is None:
        test = {"offset": record["test"]["offset"], "length": record["test"]["length"],
                "sha256": record["test"]["sha256"], "source": {"kind": "split", "part": "test",
                                                               "corpus": record["corpus"].get("source", {})}}
    else:
        test = {"length": source["bytes"], "documents": source["documents"], "sha256": source["sha256"],
                "source": source["source"]}
    test.update({"evaluated_bytes": n_test, "evaluated_sha256": hashlib.sha256(data[:n_test]).hexdigest(),
                 "roundtrip_bytes": n_rt, "corpus_sha256": record["corpus"]["sha256"]})
    fe = compressor.frontend(modality, **frontend_options)
    result = {
        "format": FORMAT,
        "model": {"spec": spec, "base_id": lm.base_id, "base_sha256": lm.base_sha256,
                  "adapter_sha256": lm.adapter_sha256, "dtype": lm.dtype,
                  "step": (manifest or {}).get("step") if spec == default_spec else None},
        "checkpoint": cfg.checkpoint or None,
        "recipe": cfg.name,
        "test": test,
        "settings": {"coded_as": modality,
                     "context": compressor.context_for(compressor.loaded(), fe),
                     "coder_batch": compressor.batch_for(fe),
                     "score_batch": cfg.eval.batch,
                     "threads": compressor.threads, "device": str(state.device),
                     "num_processes": state.num_processes, "shard_bytes": measured["shard_bytes"],
                     "shards": len(measured["shards"]), "roundtrip_shards": measured["rt_shards"],
                     # the layout and adaptation the scores and containers use (kv-carried/3:
                     # rows=None means one row per engine.TOKENS_PER_ROW tokens of each shard; each
                     # shard's row in "shards" gives the rows and keep it got)
                     "stepper": compressor.stepper_for(fe), "rows": compressor.rows, "keep": compressor.keep,
                     "adapt": compressor.adapt_for(fe)},
        "wall_seconds": measured["wall"] + (validation["wall"] if validation else 0.0),
        "shards": measured["rows"],
    }
    result.update(measured["totals"])  # scoring / roundtrip of the test bytes, as before
    if validation is not None:
        v = record["validation"]
        result["validation"] = {
            "offset": v["offset"], "length": v["length"], "sha256": v["sha256"],
            "evaluated_bytes": validation["n_test"], "roundtrip_bytes": validation["n_rt"],
            "evaluated_sha256": hashlib.sha256(val[:validation["n_test"]]).hexdigest(),
            "source": {"kind": "split", "part": "validation", "corpus": record["corpus"].get("source", {})},
            **validation["totals"], "shards": validation["rows"]}
    from evaluation import lmeval  # the test scoring pass under lm-evaluation-harness's metric names

    result["results"] = lmeval.results(f"lmcompress_{cfg.name}", result["scoring"]["bits"], data[:n_test],
                                       ends or [], cfg.data.modality)
    return result


def output_path(cfg, result: dict) -> Path:
    if cfg.eval.output:
        return Path(cfg.eval.output)
    who = "base" if not cfg.checkpoint else f"step-{result['model']['step']}"
    name = f"{who}-{result['test']['evaluated_bytes']}B-p{result['settings']['num_processes']}.json"
    if cfg.checkpoint:
        return Path(cfg.checkpoint) / "eval" / name
    # a checkout's bench/results; an installed package has none (and site-packages is no place
    # for results): the working directory
    results = ROOT / "bench" / "results"
    return (results if results.is_dir() else Path.cwd()) / f"eval-{cfg.name}-{name}"


def source_name(source: dict) -> str:
    """One line naming a corpus source record (train/corpus.py build)."""
    if source.get("kind") == "hub":
        rev = f"@{source['revision']}" if source.get("revision") else ""
        return f"hub {source.get('id')}{rev} {source.get('data_files') or source.get('split') or ''}".strip()
    if source.get("kind") == "local":
        files = source.get("files", [])
        if not files:
            return "local"
        return f"local {files[0]['path']}" + (f" (+{len(files) - 1} files)" if len(files) > 1 else "")
    if source.get("kind") == "split":
        return f"the split's {source.get('part')} part"
    return str(source.get("kind", "?"))


def describe(result: dict) -> str:
    s = result["scoring"]
    lines = [f"{result['model']['spec']}: test {s['bytes']} B ({source_name(result['test']['source'])}), "
             f"scoring {s['bits_per_byte']:.4f} bits/byte"]
    v = result.get("validation")
    if v:
        line = (f"validation {v['scoring']['bytes']} B (the split's validation part), "
                f"scoring {v['scoring']['bits_per_byte']:.4f} bits/byte")
        if v.get("roundtrip"):
            vr = v["roundtrip"]
            line += (f"; round trip {vr['bytes']} B -> {vr['container_bytes']} B "
                     f"{'verified' if vr['verified'] else 'FAILED'}")
        lines.append(line)
    rt = result.get("roundtrip")
    if rt:
        lines.append(f"round trip {rt['bytes']} B -> {rt['container_bytes']} B "
                     f"({rt['bits_per_byte']:.4f} bits/byte, ratio {rt['ratio']:.3f}), "
                     f"{'verified' if rt['verified'] else 'FAILED'}; compress "
                     f"{rt['compress_bytes_per_s']:.0f} B/s, decompress {rt['decompress_bytes_per_s']:.0f} B/s "
                     f"({result['settings']['num_processes']} process(es))")
        if rt.get("stream_vs_scoring") is not None:
            lines.append(f"coded streams {rt['stream_bits_per_byte']:.4f} bits/byte against scoring "
                         f"{rt['scoring_bits_per_byte_same_bytes']:.4f} on the same bytes "
                         f"({rt['stream_vs_scoring']:+.3%}); headers {rt['header_bytes']} B in "
                         f"{rt['shards']} container(s)")
    return "\n".join(lines)
