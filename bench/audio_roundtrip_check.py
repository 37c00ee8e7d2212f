"""One-off check: every WAV under a folder round-trips byte for byte through the audio front end's
split/join (no model), in every layout, with and without the LPC predictor; prints one line per
file. Measurement, not a test."""

import glob
import hashlib
import sys
from pathlib import Path

from compress.media.audio import BYTE_ORDERS, AudioFrontend


def main(root: str) -> int:
    files = sorted(glob.glob(f"{root}/**/*.wav", recursive=True))
    failures = 0
    for name in files:
        data = Path(name).read_bytes()
        results = []
        for order in BYTE_ORDERS:
            for layout in (order, order + "+planar"):
                for predictor in ("none", "lpc"):
                    fe = AudioFrontend(layout=layout, predictor=predictor)
                    payload, extras = fe.split(data)
                    ok = AudioFrontend().join(payload, extras) == data
                    failures += not ok
                    results.append(ok)
        print(f"{'OK  ' if all(results) else 'FAIL'} {name}  {len(data)} bytes  payload {len(payload)}  "
              f"{extras['channels']} ch {extras['rate']} Hz {extras['bits']}-bit  "
              f"sha256 {hashlib.sha256(data).hexdigest()[:12]}  layouts x predictors {len(results)}")
    print(f"{len(files)} files, {failures} failures")
    return 1 if failures or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/audio"))
