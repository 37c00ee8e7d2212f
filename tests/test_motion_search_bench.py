"""bench/motion_search.py: the encoder's search settings measured on clips (the JSON its table reads)."""

import json

import numpy as np

import benchscript


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
    assert doc["default"] == {"weight": 2, "passes": 2}
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
