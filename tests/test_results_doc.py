"""bench/results_doc.py writes docs/results.md and the README's headline table from the committed
JSON: both committed texts are what it writes now, the headline's numbers equal their JSON (read
here independently of the generator), every result file is shown or listed, and the README stays a
five-minute read whose links all resolve."""

import json
import re
from pathlib import Path

import benchscript

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"


def _module():
    return benchscript.load("results_doc")


def _json(name):
    return json.loads((RESULTS / name).read_text())


def _headline_rows():
    doc = _module()
    text = README.read_text()
    block = text[text.index(doc.BEGIN):text.index(doc.END)].splitlines()
    rows = [line for line in block if line.startswith("| ") and not line.startswith("| data")]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in rows]


def test_committed_results_doc_is_current():
    assert (ROOT / "docs" / "results.md").read_text() == _module().render()


def test_readme_headline_block_is_current():
    doc = _module()
    text = README.read_text()
    assert text.count(doc.BEGIN) == 1 and text.count(doc.END) == 1
    assert doc.with_block(text, doc.readme_block()) == text


def _number(cell, label=""):
    m = re.search(re.escape(label) + r"\**\s*\**([0-9]+\.[0-9]+)", cell)
    assert m, (label, cell)
    return m.group(1)


def test_readme_headline_numbers_equal_their_json():
    rows = _headline_rows()
    assert len(rows) >= 6
    seen = set()
    for cells in rows:
        _data, model, ours, comparator, best, machine, command, name = cells
        name = name.strip("`")
        seen.add(name)
        doc = _json(name)
        assert "2-core CPU" in machine and command.startswith("`python ")
        if name.startswith("eval_"):
            rt = doc["roundtrip"]
            assert _number(ours) == f"{rt['ratio']:.3f}"
            assert f"({rt['bits_per_byte']:.4f} bpb)" in ours
            assert f"{doc['model']['step']} steps" in model
            curve = _json(f"curve_{doc['recipe']}.json")
            codecs = {b["codec"]: b["ratio"] for b in curve["baselines"] if b["status"] == "ok"}
            assert _number(comparator, "zpaq -m5") == f"{codecs['zpaq -m5']:.3f}"
        else:
            totals = doc["totals"]
            if "lmcompress (this checkpoint)" not in totals:  # bench/audio_model.py's newer layout
                totals = {"lmcompress (this checkpoint)" if k == "lmcompress container" else k: v
                          for k, v in totals["all files, containers"].items()}
            codecs = {k: v["ratio"] for k, v in totals.items() if k != "lmcompress (this checkpoint)"}
            assert _number(ours) == f"{totals['lmcompress (this checkpoint)']['ratio']:.3f}"
            label, key = {"audio": ("FLAC -8", "flac -8"), "image": ("JPEG-XL", "cjxl -d 0 -e 7"),
                          "video": ("H.264", "libx264 -qp 0")}[name.split("_")[0]]
            assert _number(comparator, label) == f"{codecs[key]:.3f}"
        top = max(codecs, key=codecs.get)
        assert best == f"{top} {codecs[top]:.3f}"
    # the medical row shows the coder's default layout where it was measured, else the first run
    medal = "eval_medal_tuned_carried.json" if (RESULTS / "eval_medal_tuned_carried.json").exists() \
        else "eval_medal_tuned.json"
    assert {medal, "audio_model.json", "image_model.json", "video_model.json"} <= seen


def test_readme_is_a_five_minute_read():
    assert len(README.read_text().splitlines()) <= 150


def _slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _broken_links(page):
    text = page.read_text()
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", dest.read_text(), flags=re.MULTILINE)
            if anchor not in {_slug(h) for h in headings}:
                broken.append(target)
    return broken


def test_readme_links_resolve():
    links = re.findall(r"\]\((docs/[^)\s]+)\)", README.read_text())
    assert len(links) >= 8
    assert _broken_links(README) == []


def test_docs_links_resolve():
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert _broken_links(page) == [], page.name


def test_every_result_file_is_shown_or_listed():
    text = (ROOT / "docs" / "results.md").read_text()
    for path in RESULTS.iterdir():
        assert f"{path.name}`" in text or f"/{path.name})" in text, path.name


def test_check_flag_reports_a_stale_page_in_one_line(tmp_path, capsys):
    doc = _module()
    out, readme = tmp_path / "results.md", tmp_path / "README.md"
    out.write_text(doc.render())
    readme.write_text(README.read_text())
    assert doc.main(["--check", "--out", str(out), "--readme", str(readme)]) == 0
    out.write_text(doc.render().replace("| **wrong output** | **0** |", "| **wrong output** | **1** |"))
    assert doc.main(["--check", "--out", str(out), "--readme", str(readme)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "results.md" in err and "README.md" not in err


def test_readme_cli_table_names_every_option():
    from compress.cli import build_parser

    text = README.read_text()
    for action in build_parser()._actions:
        if action.option_strings and action.dest != "help":
            assert any(f"`{o}" in text or f"{o}`" in text or f" {o}," in text for o in action.option_strings), \
                action.option_strings


def test_an_interrupted_image_bench_says_how_far_it_got():
    rd = _module()
    rows = [{"image": "kodim01"}, {"image": "kodim02"}]
    assert rd.images_coded({"rows": rows}) == "2"  # JSONs from before --resume: complete
    assert rd.images_coded({"rows": rows, "complete": True, "images_asked": ["kodim01", "kodim02"]}) == "2"
    assert rd.images_coded({"rows": rows, "complete": False,
                            "images_asked": [f"kodim{i:02d}" for i in range(1, 25)]}) == "2 of 24 (interrupted)"
