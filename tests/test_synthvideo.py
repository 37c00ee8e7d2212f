"""train/synthvideo.py: synthetic training clips are valid 4:2:0 y4m that the video front end
round-trips with mc-temporal, deterministic for a seed, written photo by photo in sorted order."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from compress.core import frontends
from train import synthvideo


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name in ("b", "a"):
        # smooth gradients plus texture: something motion compensation can follow
        y, x = np.mgrid[0:300, 0:400]
        rgb = np.stack([(x + y) % 256, (2 * x) % 256, (3 * y) % 256], axis=-1).astype(np.float64)
        rgb += rng.normal(0, 8, rgb.shape)
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(folder / f"{name}.png")
    (folder / "notes.txt").write_text("not a photograph")
    return folder


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_clips_are_y4m_that_round_trip_with_motion_compensation(photos, tmp_path):
    out = tmp_path / "clips"
    assert synthvideo.main([str(photos), str(out), "--clips", "2", "--frames", "4"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["000-a-0.y4m", "000-a-1.y4m", "001-b-0.y4m", "001-b-1.y4m"]  # photos in sorted order
    frontend = frontends.get("video", predictor="mc-temporal", group=4)
    for name in names:
        data = (out / name).read_bytes()
        assert data.startswith(b"YUV4MPEG2 W176 H144 ") and data.count(b"FRAME\n") == 4
        assert len(data) == data.index(b"\n") + 1 + 4 * (6 + 176 * 144 * 3 // 2)
        payload, extras = frontend.split(data)
        assert frontend.join(payload, extras) == data
    frames = (out / names[0]).read_bytes().split(b"FRAME\n")[1:]
    assert frames[0] != frames[1]  # the window moves (and the noise differs)


def test_same_seed_same_clips_other_seed_other_clips(photos, tmp_path):
    for run, seed in (("one", "3"), ("two", "3"), ("three", "4")):
        assert synthvideo.main([str(photos), str(tmp_path / run), "--clips", "1", "--frames", "2", "--seed", seed]) == 0
    assert _digests(tmp_path / "one") == _digests(tmp_path / "two")
    assert _digests(tmp_path / "one") != _digests(tmp_path / "three")


def test_no_photographs_is_one_line_and_exit_1(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert synthvideo.main([str(tmp_path / "empty"), str(tmp_path / "out")]) == 1
    assert "no photographs" in capsys.readouterr().err


def test_unreadable_photograph_is_one_line_naming_it(photos, tmp_path, capsys):
    (photos / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    assert synthvideo.main([str(photos), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "c.png" in err and err.count("\n") == 1
