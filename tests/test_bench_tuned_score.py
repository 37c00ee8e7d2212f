"""bench/tuned_score.py: teacher-forced ideal bytes of photographs under online tuning, per checkpoint."""

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

import benchscript
from compress.core import container, models, online, pixmix
from compress.core.engine import Compressor


@pytest.fixture(scope="module")
def image_checkpoint(tiny_model_dir, tmp_path_factory):
    """The tiny model as a pixel-model checkpoint (its manifest names the front end's options)."""
    ckpt = tmp_path_factory.mktemp("tuned-score") / "ckpt"
    shutil.copytree(tiny_model_dir, ckpt)
    (ckpt / "manifest.json").write_text(json.dumps({
        "model_sha256": models.load(str(tiny_model_dir)).base_sha256, "base_model": {"sha256": None},
        "context": 16, "modality": "image",
        "recipe": {"data": {"frontend": {"order": "strips", "strip": 4, "predictor": "med-green"}}}}))
    return ckpt


def test_the_table_is_the_tuned_coders_ideal_bytes(image_checkpoint, tmp_path, capsys):
    rng = np.random.default_rng(3)
    image = np.clip(np.cumsum(rng.integers(-3, 4, (40, 52, 3)), axis=1) + 128, 0, 255).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(image).save(path, "PNG")
    out = tmp_path / "out.json"
    bench = benchscript.load("tuned_score")
    assert bench.main([str(image_checkpoint), str(image_checkpoint), "--images", str(path), "--crop", "48x32",
                       "--tune", online.ADAM7, "--threads", "1", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    first, second = (r["ideal_bytes"] for r in doc["rows"])
    assert first == second and [m["tune"] for m in doc["models"]] == [online.ADAM7] * 2
    # the mixing recorded is the one each image was scored under: the residual image default
    assert [r["mix"] for r in doc["rows"]] == [m["mix"] for m in doc["models"]] == [pixmix.V1] * 2
    assert "+0.00%" in capsys.readouterr().out
    # the coder on the same crop, tuned the same way, codes within float noise of the figure
    buf = io.BytesIO()
    Image.fromarray(image[4:36, 2:50]).save(buf, "PNG")
    coder = Compressor(str(image_checkpoint), context=16, threads=1, tune=online.ADAM7, allow_stored=False)
    options = coder.frontend_options("image")
    blob = coder.compress(buf.getvalue(), modality="image", **options)
    assert coder.last.ideal_bits / 8 == pytest.approx(first, rel=1e-4)
    assert container.read_header(blob).get("mix") == pixmix.V1
    assert coder.decompress(blob) == buf.getvalue()


def test_a_missing_image_is_one_line(image_checkpoint, tmp_path):
    with pytest.raises(SystemExit, match="no such file"):
        benchscript.load("tuned_score").main([str(image_checkpoint), "--images", str(tmp_path / "none.png")])
