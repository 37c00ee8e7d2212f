"""bench/paper_table.py writes docs/paper_vs_us.md: every figure of ours in it equals the committed
JSON's value (read here independently of the generator), the papers' missing figures say so, and the
committed doc is what the generator writes now."""

import json
from pathlib import Path

import benchscript

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _module():
    return benchscript.load("paper_table")


def _lookup(doc, path):
    for key in path:
        if isinstance(key, dict):
            (doc,) = [item for item in doc if all(item.get(k) == v for k, v in key.items())]
        else:
            doc = doc[key]
    return float(doc)


def test_each_of_our_figures_equals_its_json(tmp_path):
    table = _module()
    out = tmp_path / "paper_vs_us.md"
    assert table.main(["--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(table.ROWS) >= 20
    for row in table.ROWS:
        value = _lookup(json.loads((RESULTS / row["json"]).read_text()), row["path"])
        hits = [line for line in lines
                if line.startswith(f"| {row['label']} |") and f"`bench/results/{row['json']}`" in line]
        assert len(hits) == 1, row["label"]
        ratio_cell = hits[0].split(" | ")[3]
        if row["kind"] == "bpb":
            assert ratio_cell.startswith(f"{8 / value:.3f} (ideal, from {value:.4f} bpb"), ratio_cell
        else:
            assert ratio_cell.startswith(f"{value:.3f}"), ratio_cell
        if "extra" in row:
            name, path = row["extra"]
            extra = _lookup(json.loads((RESULTS / row["json"]).read_text()), path)
            assert f"{name} {extra:.4f}" in ratio_cell


def test_paper_side_cites_sources_and_marks_missing_figures(tmp_path):
    table = _module()
    paper = json.loads(table.PAPER.read_text())
    text = table.render()
    for source in paper["sources"].values():
        assert source["url"] in text
    for section in paper["modalities"].values():
        for r in section["rows"]:
            assert r["source"] in paper["sources"] or (r["source"] == "" and r["relative"] == "")
    assert "not measured yet: no GPU has run the GPU recipe" in text  # a missing row says so
    assert "predictor=med: each frame alone" in text  # the paper's intra-frame-only video row, measured
    assert "out of scope" in text


def test_committed_doc_is_current():
    table = _module()
    assert (ROOT / "docs" / "paper_vs_us.md").read_text() == table.render()


def test_results_doc_model_ladder_table_equals_json():
    """The model ladder moved from the README to docs/results.md (bench/results_doc.py); read here
    independently of that generator."""
    doc = json.loads((RESULTS / "model_ladder.json").read_text())
    results = (ROOT / "docs" / "results.md").read_text().splitlines()
    for model in ("smollm2-135m", "gemma3-270m"):
        (line,) = [x for x in results if x.startswith(f"| {model} | ")]
        cells = [c.strip() for c in line.strip("|").split("|")]
        params = doc["models"][model]["parameters"]
        assert cells[1] == f"{params / 1e6:.1f}M"
        for cell, file in zip(cells[2:], ("medical", "legal", "alice29"), strict=False):
            (row,) = [r for r in doc["rows"] if r["model"] == model and r["file"] == file]
            assert cell == f"{row['bits_per_byte']:.4f}"
