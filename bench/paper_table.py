"""Write docs/paper_vs_us.md: the LMCompress papers' figures beside this toolkit's, per modality.

    python bench/paper_table.py                 # -> docs/paper_vs_us.md
    python bench/paper_table.py --out DIR/x.md  # anywhere else (the test writes to a tmp dir)

The papers' side comes from bench/paper_figures.json (each figure with its source; where a figure
was not found, the file says so). Our side is read from the committed measurement JSON under
bench/results/: every number in our rows is looked up here by the JSON path in ROWS, never typed.
Nothing is measured or downloaded; this only formats.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PAPER = ROOT / "bench" / "paper_figures.json"
OUT = ROOT / "docs" / "paper_vs_us.md"

CPU = "2-core x86-64 CPU, no GPU"
EVAL_CMD = ("python -m evaluation.evaluate recipe={recipe} hardware=cpu eval.threads=2 "
            "data.path=../shared/data/text/{file} checkpoint={ckpt}")
MEDICAL = ("`medical.txt` (stand-in for MeDAL: SumPubMed abstracts, lowercased, numbers as `<dig>`), "
           "first 64 KiB of the test part")
LEGAL = "`legal.txt` (stand-in for Pile of Law's eurlex split: an EUR-Lex scrape), first 64 KiB of the test part"
LIBRIVOX = "librivox, 5 WAVs (stand-in for LibriSpeech/LJSpeech: LibriVox read speech, 16 kHz 16-bit, 791,360 B)"
LIBRIVOX8 = "the same, 8-bit 16 kHz mono paper mode (LOSSY preprocessing)"
KODAK = "Kodak, 24 PNGs, 768x512 (stand-in for CLIC/ILSVRC; 28.3 MB raw RGB)"
CARPHONE = "carphone_qcif.y4m, 120 frames 176x144 yuv420p (stand-in for the Xiph.org clips)"

# One row per figure of ours. kind: "ratio" (value is a compression ratio), "bpb" (a scoring-pass
# bits/byte; the ideal ratio 8/bpb is shown beside it). path: keys into the JSON.


def _text_rows(domain: str, data: str, recipe: str, file: str, tuned: tuple[str, str, str],
               curve: str, carried: str | None = None) -> list[dict]:
    """The rows of one text domain: base, tuned, the larger base model, the classical codecs.
    `tuned` is (label, eval JSON, checkpoint); `carried` the base model's eval JSON under the
    coder's current defaults (carried context + adaptation), when measured."""
    label, tuned_json, ckpt = tuned
    rows = [dict(modality="text", label=f"SmolLM2-135M base, independent segments ({domain})", size="135M",
                 data=data, json=f"eval_{recipe}_base.json", path=["roundtrip", "ratio"], kind="ratio",
                 extra=("scoring bpb", ["scoring", "bits_per_byte"]),
                 command=EVAL_CMD.format(recipe=recipe, file=file, ckpt="null"))]
    if carried:
        rows.append(dict(modality="text", label=f"SmolLM2-135M base, carried context + ngram-mix/2 ({domain})",
                         size="135M", data=data, json=carried, path=["roundtrip", "ratio"], kind="ratio",
                         extra=("scoring bpb", ["scoring", "bits_per_byte"]),
                         command=EVAL_CMD.format(recipe=recipe, file=file, ckpt="null")))
    rows += [
        dict(modality="text", label=f"{label} ({domain})", size="135M", data=data, json=tuned_json,
             path=["roundtrip", "ratio"], kind="ratio", extra=("scoring bpb", ["scoring", "bits_per_byte"]),
             command=EVAL_CMD.format(recipe=recipe, file=file, ckpt=ckpt)),
        dict(modality="text", label=f"gemma3-270m base ({domain}, first 64 KiB of the file)", size="268M",
             data=f"`{file}`, first 64 KiB of the file", json="model_ladder.json",
             path=["rows", {"model": "gemma3-270m", "file": domain}, "bits_per_byte"], kind="bpb",
             command=f"python bench/model_ladder.py --model gemma3-270m --file {domain}")]
    for codec in ("gzip -9", "bzip2 -9", "brotli -q 11 -w 24"):
        shown = "gzip -9 (DEFLATE, as zlib)" if codec == "gzip -9" else codec
        rows.append(dict(modality="text", label=f"{shown} ({domain})", size="-", data=data, json=curve,
                         path=["baselines", {"codec": codec}, "ratio"], kind="ratio",
                         command="python -m evaluation.evaluate ... curve=true (baselines on the same 64 KiB)"))
    return rows


ROWS: list[dict] = [
    *_text_rows("medical", MEDICAL, "medal", "medical.txt",
                ("SmolLM2-135M + LoRA, 60 steps on 2 MiB, independent segments", "eval_medal_tuned.json",
                 "checkpoints/medal/cpu60"), "curve_medal.json", carried="eval_medal_base_carried.json"),
    *_text_rows("legal", LEGAL, "pile_of_law", "legal.txt",
                ("SmolLM2-135M + LoRA, 90 steps on 2 MiB, independent segments", "eval_pile_of_law_tuned.json",
                 "checkpoints/pile_of_law/cpu90"), "curve_pile_of_law.json"),
    # audio, lossless 16-bit
    dict(modality="audio", label="SmolLM2-135M base, LPC residuals, scoring pass (16-bit)", size="135M", data=LIBRIVOX,
         json="audio_model_smollm2_base.json",
         path=["totals", "all files", "lmcompress scoring pass (ideal)", "ratio"], kind="ratio"),
    dict(modality="audio", label="SmolLM2-135M + LoRA 60 steps, LPC residuals, scoring pass (16-bit)", size="135M",
         data=LIBRIVOX, json="audio_model_smollm2_lora.json",
         path=["totals", "all files", "lmcompress scoring pass (ideal)", "ratio"], kind="ratio"),
    dict(modality="audio",
         label="bGPT-style byte model from scratch, first-order + NLMS + sign LMS residuals, containers (16-bit)",
         size="0.79M",
         data=LIBRIVOX,
         json="audio_model.json", path=["totals", "all files, containers", "lmcompress container", "ratio"],
         kind="ratio"),
    dict(modality="audio", label="FLAC -8 (16-bit)", size="-", data=LIBRIVOX,
         json="audio_baselines.json", path=["variants", "original", "total", "flac -8", "ratio"], kind="ratio"),
    dict(modality="audio", label="SmolLM2-135M + LoRA 60 steps, LPC residuals, scoring pass (8-bit)", size="135M",
         data=LIBRIVOX8, json="audio_model_smollm2_lora_8bit.json",
         path=["totals", "all files", "lmcompress scoring pass (ideal)", "ratio"], kind="ratio"),
    dict(modality="audio", label="bGPT-style byte model from scratch, LPC residuals, containers (8-bit)", size="0.79M",
         data=LIBRIVOX8,
         json="audio_model_8bit.json", path=["totals", "lmcompress (this checkpoint)", "ratio"], kind="ratio"),
    dict(modality="audio", label="FLAC -8 (8-bit)", size="-", data=LIBRIVOX8,
         json="audio_baselines.json",
         path=["variants", "paper-8bit-16k-mono", "total", "flac -8", "ratio"], kind="ratio"),
    # image
    dict(modality="image",
         label="pixel model from scratch, med-green residuals, 16-pixel strips, tuned online per image (adam/7), "
               "mixed with classical predictors (pixel-mix/1)",
         size="0.79M",
         data=KODAK, json="image_model.json", path=["totals", "lmcompress (this checkpoint)", "ratio"], kind="ratio"),
    dict(modality="image", label="PNG (as given)", size="-", data=KODAK,
         json="image_baselines.json", path=["kodak", "summary", "png (as given)", "ratio"], kind="ratio"),
    dict(modality="image", label="WebP lossless (cwebp -lossless -z 9)", size="-", data=KODAK,
         json="image_baselines.json", path=["kodak", "summary", "cwebp -lossless -z 9", "ratio"], kind="ratio"),
    dict(modality="image", label="JPEG 2000 (opj_compress, lossless)", size="-", data=KODAK,
         json="image_baselines.json", path=["kodak", "summary", "opj_compress (lossless)", "ratio"], kind="ratio"),
    dict(modality="image", label="JPEG-XL (cjxl -d 0 -e 7)", size="-", data=KODAK,
         json="image_baselines.json", path=["kodak", "summary", "cjxl -d 0 -e 7", "ratio"], kind="ratio"),
    # video
    dict(modality="video", label="pixel model trained on synthetic clips (recipe=video_mc), predictor=mc-intra, "
         "the clip as one group", size="0.79M", data=CARPHONE,
         json="video_model.json", path=["totals", "lmcompress (this checkpoint)", "ratio"], kind="ratio"),
    dict(modality="video", label="the same, groups of 8 (random access every 8 frames)", size="0.79M", data=CARPHONE,
         json="video_model_synthetic_g8.json", path=["totals", "lmcompress (this checkpoint)", "ratio"], kind="ratio"),
    dict(modality="video", label="pixel model (Kodak-trained), predictor=med-temporal, groups of 8", size="0.79M",
         data=CARPHONE,
         json="video_model_kodak_595b.json", path=["totals", "lmcompress (this checkpoint)", "ratio"], kind="ratio"),
    dict(modality="video", label="the same recipe retrained (weights 1e114f22…), predictor=med: each frame alone, "
         "the paper's intra-frame-only setting", size="0.79M", data=CARPHONE,
         json="video_model_med.json", path=["totals", "lmcompress (this checkpoint)", "ratio"], kind="ratio"),
    dict(modality="video", label="the same retrained weights, predictor=med-temporal, groups of 8", size="0.79M",
         data=CARPHONE,
         json="video_model_med_temporal.json", path=["totals", "lmcompress (this checkpoint)", "ratio"], kind="ratio"),
    dict(modality="video", label="the same retrained weights, predictor=mc-temporal, groups of 8", size="0.79M",
         data=CARPHONE,
         json="video_model_mc_temporal.json", path=["totals", "lmcompress (this checkpoint)", "ratio"], kind="ratio"),
    dict(modality="video", label="FFV1", size="-", data=CARPHONE,
         json="image_baselines.json", path=["video", "summary", "ffv1", "ratio"], kind="ratio"),
    dict(modality="video", label="H.264 (libx264 -qp 0)", size="-", data=CARPHONE,
         json="image_baselines.json", path=["video", "summary", "libx264 -qp 0", "ratio"], kind="ratio"),
    dict(modality="video", label="H.265 (libx265 lossless)", size="-", data=CARPHONE,
         json="image_baselines.json", path=["video", "summary", "libx265 lossless", "ratio"], kind="ratio"),
]

# Rows the papers have and we have not measured (said in the table, never filled with a guess).
MISSING: dict[str, list[tuple[str, str, str]]] = {
    "text": [("raw (untuned) LLaMA3-8B; LoRA-tuned LLaMA3-8B", "8B",
              "not measured yet: no GPU has run the GPU recipe")],
    "audio": [("LJSpeech as a test corpus (`recipe=ljspeech`)", "135M",
               "not measured yet: LJSpeech is not in the shared data")],
    "image": [("CLIC / ILSVRC themselves", "-", "not measured yet: neither corpus is in the shared data")],
}


def resolve(data, path):
    """Walk `path`: a str/int is a key/index; a dict picks the one list item with those fields."""
    for key in path:
        if isinstance(key, dict):
            hits = [item for item in data if all(item.get(k) == v for k, v in key.items())]
            if len(hits) != 1:
                raise KeyError(f"{key}: {len(hits)} matches")
            data = hits[0]
        else:
            data = data[key]
    return data


def load(name: str, results: Path) -> dict:
    return json.loads((results / name).read_text())


def machine(doc: dict, row: dict) -> str:
    if row["json"] == "model_ladder.json":  # per-row load averages: the machine was shared
        r = resolve(doc, row["path"][:2])
        loads = r["loadavg_before"] + r["loadavg_after"]
        return CPU + f", busy (1/5/15-min load {min(loads):.1f}-{max(loads):.1f})"
    m = doc.get("machine")
    if isinstance(m, dict):
        cores = m.get("cores") or m.get("cpus")
        return f"{cores}-core {m.get('cpu', 'x86-64')} CPU, no GPU" if cores else CPU
    if isinstance(m, str):
        return f"{m} (2 cores), no GPU"
    return CPU


def command(doc: dict, row: dict) -> str:
    cmd = row.get("command") or doc.get("command") or ""
    return cmd.split(" --out ")[0]


def fmt_ours(row: dict, results: Path) -> tuple[str, float]:
    doc = load(row["json"], results)
    value = float(resolve(doc, row["path"]))
    if row["kind"] == "bpb":
        shown = f"{8 / value:.3f} (ideal, from {value:.4f} bpb; scoring pass, no container)"
    else:
        shown = f"{value:.3f}"
        if "extra" in row:
            name, path = row["extra"]
            shown += f" (container; {name} {float(resolve(doc, path)):.4f})"
    cells = [row["label"], row["size"], row["data"], shown, machine(doc, row),
             f"`{command(doc, row)}`", f"`bench/results/{row['json']}`"]
    return "| " + " | ".join(cells) + " |", value


def render(results: Path = RESULTS, paper_path: Path = PAPER) -> str:
    paper = json.loads(paper_path.read_text())
    src = paper["sources"]
    out = [
        "# The LMCompress papers beside this toolkit",
        "",
        "Generated by `python bench/paper_table.py` from `bench/paper_figures.json` (the papers' side, "
        "each figure with its source) and the committed measurement JSON under `bench/results/` (our side; "
        "every number of ours is read from the JSON file named in its row). Do not edit by hand.",
        "",
        "**The papers' absolute figures were not found** in the sources reachable from this project "
        "(the Nature article's figures are behind its paywall; the arXiv pages available here hold the "
        "abstract only). Where a figure is missing the table says \"" + paper["not_found"] + "\"; the "
        "relative claims are given with their source. So the two sides are set beside each other, "
        "not compared number for number. The scales differ by orders of magnitude: the papers use "
        "LLaMA3-8B and iGPT on GPUs; every figure of ours comes from a 2-core CPU with models of "
        "0.79M-268M parameters, trained on a few MiB, and tested on stand-in corpora (named as such).",
        "",
        "Ratio = original bytes / compressed bytes (raw PCM payload for audio, raw RGB for images, raw "
        "planar YUV for video). A \"scoring pass\" is the ideal code length of the model's own "
        "distributions, measured without writing a container; \"container\" is a full compress, "
        "decompress and byte compare.",
        "",
        "## Sources for the papers' side",
        "",
    ]
    for key, s in src.items():
        out.append(f"- **{key}**: {s['title']}. {s['url']} (seen: {s['seen']})")
    out += ["", "Headline claims:", ""]
    for h in paper["headline"]:
        out.append(f"- \"{h['claim']}\" ({h['source']})")
    for modality, section in paper["modalities"].items():
        out += ["", f"## {section['title']}", "", "Paper:", "",
                "| data | method | model size | data scale | ratio | relative claim (source) |",
                "|---|---|---|---|---|---|"]
        for r in section["rows"]:
            rel = f"{r['relative']} ({r['source']})" if r["relative"] else ""
            out.append(f"| {r['data']} | {r['method']} | {r['model_size']} | {r['data_scale']} | {r['figure']} "
                       f"| {rel} |")
        out += ["", "This toolkit:", "",
                "| method | model size | data (scale) | ratio | machine | command | JSON |",
                "|---|---|---|---|---|---|---|"]
        for row in ROWS:
            if row["modality"] == modality:
                out.append(fmt_ours(row, results)[0])
        for label, size, why in MISSING.get(modality, []):
            out.append(f"| {label} | {size} | | {why} | | | |")
        if section.get("out_of_scope"):
            out += ["", section["out_of_scope"]]
    out += ["", "Stand-in corpora (see `../shared/data/README.md`; the data is never committed): "
            "`medical.txt` is 20,000 SumPubMed (PubMed/BMC) abstracts, lowercased with numbers as `<dig>`, "
            "standing in for MeDAL (also PubMed abstracts); `legal.txt` is English EU legal acts scraped "
            "from EUR-Lex, standing in for Pile of Law's eurlex split; librivox, Kodak and carphone stand "
            "in for LibriSpeech/LJSpeech, CLIC/ILSVRC and the Xiph.org clips.", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--paper", type=Path, default=PAPER)
    a = p.parse_args(argv)
    text = render(a.results, a.paper)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
