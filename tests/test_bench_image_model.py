"""bench/image_model.py's held-out mode: `--crop WxH` codes the centre of each photograph."""

import argparse
import io

import numpy as np
import pytest
from PIL import Image

import benchscript


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG")
    return out.getvalue()


def test_centre_crop_takes_the_middle_pixels_exactly():
    bench = benchscript.load("image_model")
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (7, 11, 3), dtype=np.uint8)  # odd sizes: the left/top margin rounds down
    cropped = bench.pixels(bench.centre_crop(png(image), (4, 2)))
    assert np.array_equal(cropped, image[2:4, 3:7])
    assert np.array_equal(bench.pixels(bench.centre_crop(png(image), (11, 7))), image)


def test_centre_crop_refuses_a_size_beyond_the_image():
    bench = benchscript.load("image_model")
    with pytest.raises(SystemExit, match=r"--crop 12x7 is larger than the 11x7 image"):
        bench.centre_crop(png(np.zeros((7, 11, 3), np.uint8)), (12, 7))


@pytest.mark.parametrize("text, size", [("768x512", (768, 512)), ("16X8", (16, 8))])
def test_crop_size_reads_width_by_height(text, size):
    assert benchscript.load("image_model").crop_size(text) == size


@pytest.mark.parametrize("text", ["768", "axb", "0x512", "768x512x3", "-4x4"])
def test_crop_size_refuses_anything_else(text):
    with pytest.raises(argparse.ArgumentTypeError):
        benchscript.load("image_model").crop_size(text)


# --resume: an interrupted Kodak run (about two hours on 2 cores) carries on where it stopped.

SETTINGS = {"what": "Kodak PNGs coded by a pixel-model checkpoint", "model_sha256": "ab" * 32, "context": 512,
            "batch": None, "threads": 2, "stepper_asked": None, "tune_asked": "auto",
            "frontend": {"order": "strips", "strip": 16, "predictor": "med-green"},
            "libraries": {"lmcompress": "0.1.0", "torch": "2.13.0+cpu"}, "crop": None}


def row(name, raw=1179648, size=400000, **extra):
    return {"image": name, "raw_bytes": raw, "container_bytes": size, "pixels_exact": True,
            "baselines": {"cjxl -d 0 -e 7": size + 1000}, **extra}


def test_resume_keeps_the_images_already_coded_in_this_runs_order():
    bench = benchscript.load("image_model")
    previous = {**SETTINGS, "rows": [row("kodim03", run=0), row("kodim01", run=0)]}
    raw = {"kodim01": 1179648, "kodim02": 1179648, "kodim03": 1179648}
    kept = bench.resumed_rows(previous, SETTINGS, raw)
    assert [r["image"] for r in kept] == ["kodim01", "kodim03"]


def test_resume_drops_images_not_asked_for_or_of_another_size():
    bench = benchscript.load("image_model")
    previous = {**SETTINGS, "rows": [row("kodim01"), row("kodim02", raw=3000), row("kodim09")]}
    kept = bench.resumed_rows(previous, SETTINGS, {"kodim01": 1179648, "kodim02": 1179648})
    assert [r["image"] for r in kept] == ["kodim01"]
    assert kept[0]["run"] == 0  # a JSON from one sitting: its rows were coded by its only run


@pytest.mark.parametrize("key, value", [("model_sha256", "cd" * 32), ("threads", 1), ("tune_asked", "none"),
                                        ("frontend", {"order": "strips", "strip": 8, "predictor": "med-green"}),
                                        ("libraries", {"lmcompress": "0.2.0", "torch": "2.13.0+cpu"}),
                                        ("crop", [768, 512])])
def test_resume_refuses_a_run_made_with_other_settings(key, value):
    bench = benchscript.load("image_model")
    previous = {**SETTINGS, key: value, "rows": [row("kodim01")]}
    with pytest.raises(SystemExit, match=rf"--resume: the run in --out was made with other {key}; "):
        bench.resumed_rows(previous, SETTINGS, {"kodim01": 1179648})


def test_earlier_runs_of_a_json_from_one_sitting_is_its_command_and_machine():
    bench = benchscript.load("image_model")
    previous = {"command": "python bench/image_model.py ck", "machine": {"cores": 2},
                "rows": [row("kodim01"), row("kodim02")]}
    assert bench.earlier_runs(previous) == [{"command": "python bench/image_model.py ck", "machine": {"cores": 2},
                                             "images": ["kodim01", "kodim02"]}]
    runs = [{"command": "a", "machine": {}, "images": ["kodim01"]}]
    assert bench.earlier_runs({"runs": runs, "rows": []}) == runs


def test_summary_totals_the_rows_and_says_whether_it_is_complete():
    bench = benchscript.load("image_model")
    runs = [{"command": "a", "machine": {}, "images": ["kodim01"]},
            {"command": "b", "machine": {}, "images": ["kodim02"]}]
    rows = [row("kodim01", size=400000, run=0), row("kodim02", size=500000, run=1)]
    done = bench.summary(SETTINGS, rows, runs, complete=True)
    assert done["complete"] and done["all_exact"] and done["runs"] == runs
    assert done["totals"]["lmcompress (this checkpoint)"] == {"bytes": 900000, "ratio": 2 * 1179648 / 900000}
    assert done["totals"]["cjxl -d 0 -e 7"]["bytes"] == 902000
    assert [r["run"] for r in done["rows"]] == [0, 1]
    partial = bench.summary(SETTINGS, rows[:1], runs[:1], complete=False)
    assert partial["complete"] is False and partial["runs"] == runs[:1]  # a later --resume needs them


def test_summary_of_one_sitting_leaves_the_run_bookkeeping_out():
    bench = benchscript.load("image_model")
    runs = [{"command": "a", "machine": {}, "images": ["kodim01"]}]
    done = bench.summary(SETTINGS, [row("kodim01", run=0)], runs, complete=True)
    assert "runs" not in done and "run" not in done["rows"][0]


def test_rows_stand_in_the_order_of_the_images_asked_for():
    bench = benchscript.load("image_model")
    rows = [row("kodim03", run=1), row("kodim01", run=0)]
    assert [r["image"] for r in bench.in_order(rows, ["kodim01", "kodim02", "kodim03"])] == ["kodim01", "kodim03"]
