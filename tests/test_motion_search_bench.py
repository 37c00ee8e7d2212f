"""bench/motion_search.py: the encoder's search settings measured on clips (the JSON its table reads)."""

import json

import numpy as np
import pytest

import benchscript
from compress.media import motion


def _clip(path, frames=4, h=32, w=48, seed=5):
    """A textured picture drifting one pixel a frame under fresh noise, 4:2:0."""
    rng = np.random.default_rng(seed)
    big = rng.integers(30, 220, (h + 2 * frames, w + 2 * frames))
    out = [f"YUV4MPEG2 W{w} H{h} F25:1 C420jpeg\n".encode()]
    for k in range(frames):
        luma = np.clip(big[k : k + h, k : k + w] + rng.integers(-4, 5, (h, w)), 0, 255).astype(np.uint8)
        out += [b"FRAME\n", luma.tobytes(), bytes([128]) * (h * w // 2)]
    path.write_bytes(b"".join(out))
    return path


def test_motion_search_bench_writes_each_setting(tmp_path):
    bench = benchscript.load("motion_search")
    clip = _clip(tmp_path / "a.y4m")
    out = tmp_path / "ms.json"
    bench.main([str(clip), "--group", "3", "--settings", "0:0,2:2", "--out", str(out)])
    doc = json.loads(out.read_text())
    assert doc["default"] == {"weight": motion.RATE_WEIGHT, "passes": motion.RATE_PASSES,
                              "penalty": motion.INTRA_PENALTY}
    assert [(x["weight"], x["passes"]) for x in doc["settings"]] == [(0, 0), (2, 2)]
    for x in doc["settings"]:
        assert x["frames"] == 2  # frames 1 and 2 of the unit of 3; frame 3 starts the next unit
        assert sum(x["modes"]) == 2 * 4 * 6  # 4 x 6 blocks a frame
        assert abs(x["total_bytes"] - (x["motion_bytes"] + x["luma_bytes"] + x["chroma_bytes"])) < 1e-6
    assert doc["command"].startswith("python bench/motion_search.py")


def test_motion_search_bench_measures_mc_intra(tmp_path):
    """--predictor mc-intra: the same parts, with the intra mode counted among the modes."""
    bench = benchscript.load("motion_search")
    clip = _clip(tmp_path / "a.y4m")
    out = tmp_path / "ms.json"
    bench.main([str(clip), "--group", "3", "--settings", "2:2", "--predictor", "mc-intra", "--out", str(out)])
    doc = json.loads(out.read_text())
    assert doc["predictor"] == "mc-intra"
    [row] = doc["settings"]
    assert row["predictor"] == "mc-intra" and len(row["modes"]) == 4 and sum(row["modes"]) == 2 * 4 * 6


def test_motion_search_bench_weighs_settings_by_the_model(tmp_path, tiny_model_dir):
    """--model: each setting's row is the scoring pass over the payload the front end lays out with
    that choice; the encoder's own defaults give exactly what Compressor.score says (the patch
    reaches the front end's split), and another choice gives another payload."""
    from compress.core.engine import Compressor

    bench = benchscript.load("motion_search")
    clip = _clip(tmp_path / "a.y4m", frames=5)
    out = tmp_path / "msm.json"
    default = f"{motion.RATE_WEIGHT}:{motion.RATE_PASSES}:{motion.INTRA_PENALTY}"
    bench.main([str(clip), "--model", str(tiny_model_dir), "--predictor", "mc-intra", "--group", "8",
                "--frames", "4", "--threads", "1", "--settings", f"{default},0:0:0", "--out", str(out)])
    doc = json.loads(out.read_text())
    assert doc["checkpoint"] == str(tiny_model_dir) and doc["frames"] == 4
    first, second = doc["settings"]
    assert (first["weight"], first["passes"], first["penalty"]) == (motion.RATE_WEIGHT, motion.RATE_PASSES,
                                                                  motion.INTRA_PENALTY)
    cut = bench.first_frames(clip.read_bytes(), 4)
    expected = Compressor(str(tiny_model_dir), threads=1).score(
        cut, modality="video", batch=64, predictor="mc-intra", group=8).bits / 8
    assert first["bytes"] == [expected] and first["total_bytes"] == expected
    assert second["bytes"] != first["bytes"]  # penalty 0 and SAD alone: other modes, other payload


def test_first_frames_cuts_whole_frames(tmp_path):
    bench = benchscript.load("motion_search")
    data = _clip(tmp_path / "a.y4m", frames=4).read_bytes()
    frame = len(b"FRAME\n") + 32 * 48 * 3 // 2
    header = data.index(b"\n") + 1
    assert bench.first_frames(data, 2) == data[: header + 2 * frame]
    assert bench.first_frames(data, 9) == data


@pytest.mark.parametrize("setting", ["1:2:3:4", "1", "one:2", "1:2:"])
def test_a_malformed_setting_is_refused(tmp_path, setting):
    bench = benchscript.load("motion_search")
    with pytest.raises(SystemExit, match="weight:passes"):
        bench.main([str(_clip(tmp_path / "a.y4m")), "--settings", setting, "--out", str(tmp_path / "x.json")])
    assert not (tmp_path / "x.json").exists()
