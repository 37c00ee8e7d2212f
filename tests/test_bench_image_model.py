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
