"""The training corpus: documents from the hub or local files, concatenated into one byte string.

Everything downstream (the split, the training segments, evaluation's test bytes) is defined on
`Corpus.data`, the concatenation of the documents in their source order, and `Corpus.ends`, the
byte offset where each document ends. Rebuilding a corpus from the same data config gives the same
bytes, which is what lets a checkpoint's manifest name its test bytes by offset and sha256.

Documents come through `datasets` in both cases, so hub and local data take one path:
- text: each document is its text in UTF-8 followed by a separator; local files are read with
  datasets' `text` loader (`sample_by` document | paragraph | line, universal newlines), each
  document followed by what the loader split on ("\n\n" | "\n" | nothing), hub documents by
  `data.hub.separator`;
- audio (any non-text modality): each document is one file's *payload* after the modality's front
  end, `compress.core.frontends.get(modality).split(file_bytes)[0]` - the bytes the coder codes.
Reading stops once `limit` bytes are gathered (the split never looks further), so a streamed hub
dataset is read only as far as needed.

Hub sources are read with a packaged builder (`data.hub.builder`: csv, json, parquet, imagefolder,
webdataset) over `data.hub.data_files` named relative to the repository, because datasets>=4 no
longer runs the loading scripts that MeDAL, Pile of Law, LJSpeech and ImageNet ship. Those paths
are resolved under `hub_base(hub)` = `<data.hub.root>/<id>[@<revision>]`, the hf:// URL grammar, so
the revision is part of every file's address. `data.hub.root` is null for the Hugging Face hub
(`hf://datasets`); pointing it at a local or fsspec mirror with the same layout (the offline tests
do this with `memory://`) changes nothing else about how a recipe is read.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from compress.core.digest import sha256_file
from compress.fileio import write_atomic

from .errors import DataError

SEPARATORS = {"paragraph": "\n\n", "line": "\n", "document": ""}
HUB_ROOT = "hf://datasets"  # data.hub.root: null means the Hugging Face hub


@dataclass
class Corpus:
    data: bytes
    ends: list[int]  # end offset of each document in `data`
    source: dict = field(default_factory=dict)

    @property
    def documents(self) -> int:
        return len(self.ends)


def separator(data_cfg) -> str:
    """What follows each document: the separator datasets' text loader removed (local text), the
    hub recipe's `data.hub.separator` (hub text), nothing for audio payloads."""
    if data_cfg.modality != "text":
        return ""
    if data_cfg.get("path"):
        return SEPARATORS[data_cfg.get("sample_by", "paragraph")]
    sep = data_cfg.hub.get("separator")
    return "\n\n" if sep is None else str(sep)


def _quiet_datasets():
    import logging

    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)


def _is_list(path) -> bool:
    from omegaconf import ListConfig

    return isinstance(path, (list, tuple, ListConfig))


def _plain(value):
    """An OmegaConf list/dict as plain Python (the source record goes into JSON manifests)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    return OmegaConf.to_container(value) if isinstance(value, (DictConfig, ListConfig)) else value


def absolute_paths(path):
    """data.path made absolute (a manifest must name it from anywhere): a string or a list."""
    if _is_list(path):
        return [os.path.abspath(str(p)) for p in path]
    return os.path.abspath(str(path))


def resolve_files(path) -> list[str]:
    """A file, every file under a directory (sorted, hidden ones skipped), or a glob's matches; or
    a list of those, concatenated in the order given (data.path='[a_dir,b_dir/*.wav]')."""
    if _is_list(path):
        if not path:
            raise DataError("data.path is an empty list")
        return [f for p in path for f in resolve_files(str(p))]
    p = Path(path)
    if p.is_file():
        return [str(p)]
    if p.is_dir():
        files = sorted(str(f) for f in p.rglob("*")
                       if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts))
        if not files:
            raise DataError(f"data.path '{path}' is an empty directory")
        return files
    if glob.has_magic(path):
        files = sorted(f for f in glob.glob(path, recursive=True) if os.path.isfile(f))
        if not files:
            raise DataError(f"data.path '{path}' matches no files")
        return files
    raise DataError(f"data.path '{path}' does not exist")


def _local_rows(data_cfg, files: list[str]):
    """An IterableDataset over local files: text rows from datasets' text loader, audio rows of
    raw file bytes shaped like a hub audio column ({"bytes", "path"})."""
    from datasets import IterableDataset, load_dataset

    if data_cfg.modality == "text":
        return load_dataset("text", data_files=files, split="train", streaming=True,
                            sample_by=data_cfg.sample_by), "text"

    def read(files):
        for f in files:
            with open(f, "rb") as fh:
                yield {"audio": {"bytes": fh.read(), "path": f}}

    return IterableDataset.from_generator(read, gen_kwargs={"files": files}), "audio"


def hub_base(hub) -> str:
    """Where the repository's files live: `<root>/<id>` or `<root>/<id>@<revision>` (hf:// grammar;
    huggingface_hub also accepts `@refs/convert/parquet` unescaped)."""
    root = (hub.get("root") or HUB_ROOT).rstrip("/")
    base = f"{root}/{hub.id}"
    return f"{base}@{hub.revision}" if hub.get("revision") else base


def _resolve_one(entry: str, base: str) -> str:
    """A repo-relative path (or the container of a chained URL such as
    `zip://**/train.csv::data/x.zip`) made absolute under `base`; absolute URLs and paths stay."""
    parts = str(entry).split("::")
    last = parts[-1]
    if "://" not in last and not os.path.isabs(last):
        parts[-1] = f"{base}/{last.lstrip('/')}"
    return "::".join(parts)


def hub_data_files(hub):
    """`data.hub.data_files` (a string, a list, or a {split: files} mapping) resolved under
    `hub_base(hub)`; None when the recipe names no files."""
    from omegaconf import DictConfig

    files = hub.get("data_files")
    if files is None:
        return None
    base = hub_base(hub)

    def resolve(v):
        return [_resolve_one(f, base) for f in v] if _is_list(v) else _resolve_one(v, base)

    if isinstance(files, (dict, DictConfig)):
        return {str(k): resolve(v) for k, v in files.items()}
    return resolve(files)


def _hub_rows(hub):
    from datasets import load_dataset

    kwargs = {"split": hub.split, "streaming": hub.streaming}
    if hub.get("builder"):
        # the revision is already in every file's address (hub_base)
        rows = load_dataset(hub.builder, data_files=hub_data_files(hub), **kwargs)
    else:
        if hub.get("revision"):
            kwargs["revision"] = hub.revision
        if hub.get("data_files"):
            kwargs["data_files"] = hub.data_files
        where = hub.id if not hub.get("root") else f"{hub.root.rstrip('/')}/{hub.id}"
        rows = load_dataset(where, hub.get("config"), **kwargs)
    if hasattr(rows, "decode") and getattr(rows, "features", None) is not None:
        # audio/image columns as raw {"bytes", "path"}: no decoder needed. Streamed csv/json have
        # no features until read (and no media columns), and decode() refuses them.
        rows = rows.decode(False)
    return rows


def _document_bytes(row, field_name: str, modality: str, frontend, sep: bytes) -> bytes:
    value = row[field_name]
    if modality == "text":
        if not isinstance(value, str):
            raise DataError(f"column '{field_name}' holds {type(value).__name__}, not text")
        return value.encode("utf-8") + sep
    if isinstance(value, dict):
        raw = value.get("bytes")
        if raw is None and value.get("path"):
            # streamed folders give a path, not bytes: an hf://, zip:// or memory:// URL as often
            # as a local file, so read it through datasets' fsspec-aware opener
            from datasets.utils.file_utils import xopen

            with xopen(value["path"], "rb") as fh:
                raw = fh.read()
    else:
        raw = value
    if not isinstance(raw, (bytes, bytearray)):
        raise DataError(f"column '{field_name}' holds no file bytes for modality '{modality}'")
    raw = bytes(raw)
    if modality == "image":
        raw = pixels_as_netpbm(raw)
    payload, _extras = frontend.split(raw)
    return payload + sep


def pixels_as_netpbm(raw: bytes) -> bytes:
    """Image corpora such as ImageNet ship JPEGs, which the image front end (PNG/PGM/PPM only) does
    not take: a training document is the decoded pixels, so a JPEG (or any other format Pillow
    reads) becomes a binary PPM (RGB) or PGM (greyscale) of its pixels. PNG and netpbm pass
    untouched. JPEG decoding is the one place a corpus depends on the decoder (libjpeg version);
    the split record's sha256 catches a machine whose decoder differs."""
    if raw.startswith(b"\x89PNG") or raw[:2] in (b"P5", b"P6"):
        return raw
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as im:
            im = im.convert("L" if im.mode in ("1", "L", "I;16", "I") else "RGB")
            out = io.BytesIO()
            im.save(out, format="PPM")
    except Exception as exc:
        raise DataError(f"an image document could not be decoded: {_first_line(exc)}") from None
    return out.getvalue()


def build(data_cfg, limit: int) -> Corpus:
    """Gather documents until `limit` bytes (or the source ends); DataError on any failure."""
    from compress.core import frontends

    _quiet_datasets()
    modality = data_cfg.modality
    sep = separator(data_cfg).encode("utf-8")
    frontend = None if modality == "text" else frontends.get(modality, **dict(data_cfg.get("frontend") or {}))
    if data_cfg.get("path"):
        files = resolve_files(data_cfg.path)
        source = {"kind": "local", "sample_by": data_cfg.sample_by if modality == "text" else "file",
                  "files": [{"path": f, "bytes": os.path.getsize(f), "sha256": sha256_file(f)}
                            for f in files]}
        where = f"data.path '{data_cfg.path}'"
        rows, field_name = _local_rows(data_cfg, files)
    else:
        hub = data_cfg.hub
        if not hub.get("id"):
            raise DataError("this recipe names no hub dataset (data.hub.id is null): pass local data "
                            "with data.path=FILE|DIR|GLOB")
        source = {"kind": "hub", **{k: _plain(hub.get(k)) for k in
                                    ("id", "config", "split", "field", "revision", "builder", "data_files")}}
        if hub.get("root"):
            source["root"] = hub.root
        where = f"dataset '{hub.id}'"
        field_name = hub.field
        try:
            rows = _hub_rows(hub)
        except DataError:
            raise
        except Exception as exc:
            raise DataError(_hub_message(hub, exc)) from None
    source.update({"modality": modality, "separator": sep.decode("utf-8")})
    parts: list[bytes] = []
    ends: list[int] = []
    total = 0
    try:
        for row in rows:
            doc = _document_bytes(row, field_name, modality, frontend, sep)
            if not doc:
                continue
            parts.append(doc)
            total += len(doc)
            ends.append(total)
            if total >= limit:
                break
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        raise DataError(f"{where} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        "non-text data needs data.modality") from None
    except KeyError as exc:
        raise DataError(f"{where} has no column {exc} (set data.hub.field)") from None
    except Exception as exc:
        if source["kind"] == "hub":
            raise DataError(_hub_message(data_cfg.hub, exc)) from None
        raise DataError(f"cannot read {where}: {_first_line(exc)}") from None
    if not ends:
        raise DataError(f"{where} holds no documents")
    return Corpus(data=b"".join(parts), ends=ends, source=source)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def _hub_message(hub, exc: BaseException) -> str:
    return (f"cannot load dataset '{hub.id}' from the Hugging Face hub: {_first_line(exc)} "
            "(no network? pass local data with data.path=FILE|DIR|GLOB)")


# -- cache for hub corpora: read the stream once, share it between processes and runs -----------
def cache_key(data_cfg, limit: int) -> str:
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(data_cfg, resolve=True) if not isinstance(data_cfg, dict) else data_cfg
    keep = {k: cfg.get(k) for k in ("modality", "frontend", "hub")}
    keep["limit"] = limit
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:24]


def cache_dir(data_cfg) -> Path:
    if data_cfg.get("cache_dir"):
        return Path(data_cfg.cache_dir)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lmcompress" / "corpora"


def load(data_cfg, limit: int, *, use_cache: bool = True) -> Corpus:
    """`build`, with hub corpora cached on disk (written atomically) keyed by their data config."""
    if data_cfg.get("path") or not use_cache:
        return build(data_cfg, limit)
    folder = cache_dir(data_cfg)
    key = cache_key(data_cfg, limit)
    blob, meta = folder / f"{key}.bin", folder / f"{key}.json"
    if blob.is_file() and meta.is_file():
        info = json.loads(meta.read_text())
        data = blob.read_bytes()
        if hashlib.sha256(data).hexdigest() == info["sha256"]:
            return Corpus(data=data, ends=info["ends"], source=info["source"])
    corpus = build(data_cfg, limit)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(blob, corpus.data)
        info = {"sha256": hashlib.sha256(corpus.data).hexdigest(), "ends": corpus.ends,
                "source": corpus.source}
        write_atomic(meta, json.dumps(info).encode())
    except OSError:
        pass  # a cache is an optimisation; an unwritable cache dir must not stop training
    return corpus
