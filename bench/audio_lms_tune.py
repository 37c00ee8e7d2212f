"""Choose the audio front end's adaptive stage (compress/media/lms.py) on training and validation audio.

    python bench/audio_lms_tune.py [--grid lms|nlms] [--files F ...] [--frames N] [--out JSON]

For every file (default: the codec2 and alsa WAVs, the librispeech_bgpt recipe's training and
validation audio, never the librivox test clips) this runs the front end's own transforms, LPC
(compress/media/lpc.py at its defaults) and then an LMS cascade (compress/media/lms.py, kind
sslms/1 or sslms/2) at each (taps, shift, step) of a small grid, and prices each residual with a
cost proxy: an adaptive Laplace code whose scale is the running mean of |residual| (decay 0.95),
plus the LPC side information (shift byte and int16 coefficients per block). The proxy is not a
container size; it ranks predictors the way a byte model that learns the residual's local scale
would (the coded results are bench/audio_model.py's).

`--grid nlms` compares the table-free predictor "nlms+lms" (compress/media/nlms.py: a fixed
first-order filter, an NLMS stage, then a shorter sign LMS cascade; no side information) at a few
settings with lpc+lms's default, on the same files and on the 48 kHz alsa speech resampled to
16 kHz (the test clips' rate; still validation audio).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from common import ROOT, machine, save_result
from compress.media import lms, lpc

DATA = ROOT.parent / "shared" / "data" / "audio"
# sign-sign (sslms/1) single stages (taps, shift, step), then cascades built from the best of them,
# then the scaled rule (sslms/2) on that cascade at 1-4 times its steps
SS, SC = lms.SIGN_SIGN, lms.SCALED
GRID = {f"lms {t}/{s}/{st}": (SS, [(t, s, st)]) for t, s, st in
        [(16, 12, 8), (16, 12, 16), (16, 12, 32), (16, 12, 64), (8, 12, 32), (32, 12, 16), (32, 12, 32)]}
CASCADE = [(256, 16, 4), (32, 14, 16), (16, 12, 32), (2, 12, 16)]


def times(stages, k):
    return [(t, s, st * k) for t, s, st in stages]


GRID.update({
    "lms 32/14/16 > 16/12/32": (SS, [(32, 14, 16), (16, 12, 32)]),
    "lms 256/16/4 > 16/12/32": (SS, [(256, 16, 4), (16, 12, 32)]),
    "lms 256/16/4 > 32/14/16 > 16/12/32": (SS, [(256, 16, 4), (32, 14, 16), (16, 12, 32)]),
    "lms 256/16/4 > 32/14/16 > 16/12/32 > 2/12/16": (SS, CASCADE),
    "lms the same, steps x2": (SS, times(CASCADE, 2)),
    "sslms/2 the same cascade": (SC, CASCADE),
    "sslms/2 256/16/8 > 32/14/32 > 16/12/64 > 2/12/32": (SC, times(CASCADE, 2)),  # the default
    "sslms/2 steps x3": (SC, times(CASCADE, 3)),
    "sslms/2 steps x4": (SC, times(CASCADE, 4)),
})


# --grid nlms: the table-free predictor (compress/media/nlms.py) against lpc+lms's default, each
# name -> (NLMS (taps, mu) or None for the first-order filter alone, sslms/2 stages after it)
NLMS_GRID = {
    "fo > sslms/2 default": (None, lms.STAGES),
    "fo > nlms 16 mu 2^-4 > sslms/2 default": ((16, 4), lms.STAGES),
    "fo > nlms 16 mu 2^-4 > sslms/2 32 > 16 > 2 (nlms+lms)": ((16, 4), lms.STAGES_AFTER_NLMS),
    "fo > nlms 16 mu 2^-3 > sslms/2 32 > 16 > 2": ((16, 3), lms.STAGES_AFTER_NLMS),
    "fo > nlms 16 mu 2^-5 > sslms/2 32 > 16 > 2": ((16, 5), lms.STAGES_AFTER_NLMS),
    "fo > nlms 8 mu 2^-4 > sslms/2 32 > 16 > 2": ((8, 4), lms.STAGES_AFTER_NLMS),
    "fo > nlms 32 mu 2^-4 > sslms/2 32 > 16 > 2": ((32, 4), lms.STAGES_AFTER_NLMS),
}


def nlms_residual(x: np.ndarray, setting) -> np.ndarray:
    from compress.media import nlms

    first, stages = setting
    if first is None:
        e = nlms.first_order(x, 16)
    else:
        taps, mu = first
        e = nlms.forward(x, 16, {**nlms.params(), "nlms": [taps, nlms.WEIGHT_SHIFT, mu, nlms.EPS]})
    return lms.forward(e, 16, stages, lms.SCALED)


def laplace_bits(e: np.ndarray) -> float:
    """Bits of an adaptive Laplace code for integer residuals (scale = running mean |e|)."""
    a = np.abs(e.astype(np.float64))
    scale = np.empty_like(a)
    s = 16.0
    for i, v in enumerate(a.tolist()):
        scale[i] = s
        s = 0.95 * s + 0.05 * v
    b = np.maximum(scale, 0.5)
    return float(np.sum(np.log2(2 * b) + a / b / np.log(2)))


def main(argv=None) -> int:
    import soundfile

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=Path, nargs="+",
                   default=sorted((DATA / "codec2").glob("*.wav")) + sorted((DATA / "alsa").glob("*.wav")))
    p.add_argument("--frames", type=int, default=150000, help="first N frames of channel 0 of each file")
    p.add_argument("--grid", choices=("lms", "nlms"), default="lms",
                   help="lms: the sign LMS cascades after LPC; nlms: the table-free nlms+lms predictor "
                        "against lpc+lms (also on the 48 kHz alsa speech resampled to 16 kHz)")
    p.add_argument("--out", type=Path, default=None,
                   help="default bench/results/audio_lms_tune.json (--grid nlms: audio_nlms_tune.json)")
    args = p.parse_args(argv)
    args.out = args.out or ROOT / "bench" / "results" / (
        "audio_lms_tune.json" if args.grid == "lms" else "audio_nlms_tune.json")
    started = time.perf_counter()
    lpc_lms = "lpc > sslms/2 default (lpc+lms)"
    settings = ["lpc", *GRID] if args.grid == "lms" else [lpc_lms, *NLMS_GRID]
    signals = []
    for path in args.files:
        x, rate = soundfile.read(path, dtype="int16", always_2d=True)
        signals.append((path.name, rate, x[: args.frames, 0].astype(np.int64)))
        if args.grid == "nlms" and rate == 48000:  # 16 kHz speech like the test clips, from validation audio
            from scipy.signal import resample_poly

            y, _ = soundfile.read(path, dtype="float64", always_2d=True)
            y = np.clip(np.round(resample_poly(y[:, 0], 1, 3) * 32768), -32768, 32767).astype(np.int64)
            signals.append((f"{path.name}@16k", 16000, y[: args.frames]))
    rows = []
    for label, rate, x in signals:
        res, params = lpc.analyse(x[:, None], 16)
        e = res[:, 0]
        side = 8 * params.shifts.size + 16 * params.coefs.size
        if args.grid == "lms":
            bits = {"lpc": (laplace_bits(e) + side) / x.size}
            for name, (kind, stages) in GRID.items():
                bits[name] = (laplace_bits(lms.forward(e, 16, stages, kind)) + side) / x.size
        else:  # no side information for the table-free settings
            bits = {lpc_lms: (laplace_bits(lms.forward(e, 16)) + side) / x.size}
            for name, setting in NLMS_GRID.items():
                bits[name] = laplace_bits(nlms_residual(x, setting)) / x.size
        rows.append({"file": label, "rate": rate, "frames": int(x.size), "bits_per_sample": bits})
        first = settings[0]
        print(f"{label:<22} {rate:>6} Hz  {first.split(' ')[0]} {bits[first]:.3f}  best {min(bits.values()):.3f}",
              flush=True)
    mean = {s: float(np.mean([r["bits_per_sample"][s] for r in rows])) for s in settings}
    print(f"\n{'setting (mean over the files)':<48} bits/sample")
    for s in settings:
        print(f"  {s:<46} {mean[s]:.4f}")
    best = min(mean, key=mean.get)
    print(f"best: {best}")
    what = ("adaptive Laplace cost proxy (bits/sample, incl. LPC side information) of the audio "
            "front end's residuals on training/validation audio, per adaptive-stage setting")
    if args.grid == "nlms":
        what = ("adaptive Laplace cost proxy (bits/sample; LPC side information included for lpc+lms, none "
                "exists for the table-free settings) of the audio front end's residuals on training/validation "
                "audio, per predictor setting")
    doc = {"what": what,
           "machine": machine(), "settings": settings, "rows": rows, "mean_bits_per_sample": mean,
           "best": best,
           "default": (f"{lms.KIND} " + " > ".join(f"{t}/{s}/{st}" for t, s, st in lms.STAGES)
                       if args.grid == "lms" else "nlms+lms: fo > nlms 16 mu 2^-4 > sslms/2 32 > 16 > 2"),
           "seconds": time.perf_counter() - started}
    save_result(args.out, doc, "bench/audio_lms_tune.py", argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
