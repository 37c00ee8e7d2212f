"""Split/join every Kodak PNG (also as PPM) and the carphone y4m through the front ends, no model.

Checks what the front ends promise on real files: PPM/PGM and y4m byte-exact, PNG pixel-exact (and
byte-exact when its deflate stream replays: the same pixels saved by Pillow/zlib must come back
byte for byte), for every payload order. Prints one line per file and
a summary; exits non-zero on any failure.

    nice -n 10 python bench/frontend_roundtrip.py
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from compress.core import frontends
from compress.media import image

ROOT = Path(__file__).resolve().parent.parent

DATA = ROOT.parent / "shared" / "data"


def decoded(data: bytes) -> tuple[str, np.ndarray]:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.mode, np.asarray(im).copy()


def main() -> int:
    failures = 0
    started = time.perf_counter()
    for path in sorted((DATA / "images" / "kodak").glob("*.png")):
        data = path.read_bytes()
        buf = io.BytesIO()
        Image.open(path).save(buf, "PPM")
        ppm = buf.getvalue()
        buf = io.BytesIO()
        Image.open(path).save(buf, "PNG")  # the same pixels written by libz (Pillow): byte-exact?
        resaved = buf.getvalue()
        notes = []
        for order in image.ORDERS:
            fe = frontends.get("image", order=order)
            payload, extras = fe.split(data)
            out = fe.join(payload, extras)
            mode, px = decoded(data)
            mode2, px2 = decoded(out)
            ok = mode == mode2 and np.array_equal(px, px2) and fe.checksum_bytes(out) == fe.checksum_bytes(data)
            exact = out == data
            ok = ok and (exact or extras["reencoded"])
            p_payload, p_extras = fe.split(ppm)
            ppm_ok = fe.join(p_payload, p_extras) == ppm and p_payload == payload
            r_payload, r_extras = fe.split(resaved)
            resaved_ok = fe.join(r_payload, r_extras) == resaved and r_payload == payload
            failures += (not ok) + (not ppm_ok) + (not resaved_ok)
            notes.append(f"{order}: png {'byte-exact' if exact else 'pixel-exact (re-encoded)' if ok else 'FAIL'}"
                         f", ppm {'byte-exact' if ppm_ok else 'FAIL'}"
                         f", png re-saved by Pillow {'byte-exact' if resaved_ok else 'FAIL'}")
        print(f"{path.name} ({px.shape[1]}x{px.shape[0]} {mode}, {len(data)} B): " + "; ".join(notes))
    clip = DATA / "video" / "carphone_qcif.y4m"
    data = clip.read_bytes()
    fe = frontends.get("video")
    payload, extras = fe.split(data)
    ok = fe.join(payload, extras) == data
    failures += not ok
    print(f"{clip.name}: {extras['frames']} frames of {extras['frame_bytes']} B, header "
          f"{extras['header'].strip()!r}: {'byte-exact' if ok else 'FAIL'}")
    print(f"{failures} failures, {time.perf_counter() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
