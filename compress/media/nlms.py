"""Sample-adaptive prediction without side information: a fixed first-order filter, then an integer
normalised LMS stage (the audio predictor "nlms+lms"), exactly invertible.

Why: block LPC (compress/media/lpc.py) pays about 0.06 bits per sample for its tables and fits one
filter per 4,096 frames; a normalised LMS filter keeps adapting sample by sample at no side cost,
and its step, divided by the energy of its history, converges at the same speed on loud and quiet
passages, where the sign LMS cascade (compress/media/lms.py) that follows it moves its weights by
fixed amounts. Monkey's Audio and OptimFROG start the same way (a fixed first-order filter, then
adaptive filters). Chosen on training and validation audio only, with bench/audio_lms_tune.py's
adaptive-Laplace proxy (never the librivox test clips): see docs/audio.md.

For one channel's samples x (signed integers of `bits` bits), all state 0 at the start:

    e[n] = wrap(x[n] - floor(coef * x[n-1] / 2**shift))              (the first-order stage)
    p[n] = floor(sum(w_k * h_k) / 2**W)                               (h_0 = e[n-1], ..., h_taps-1)
    r[n] = wrap(e[n] - p[n])                                          (what the LMS cascade gets)
    w_k += floor(((rs * hs_k) << (W - mu)) / (2**eps + sum(hs_j ** 2)))   then |w_k| <= WEIGHT_LIMIT

with hs = h >> s, rs = clip(r >> s, +-2**16) and s = max(0, bits - 16): the update sees the history
at 16-bit scale, so the same step suits every sample width and every product fits int64 (a 32-bit
stream cannot overflow). Integers only, floor division throughout, so the decoder, which runs the
same recursion on the values it has just rebuilt, gets the same predictions on every machine.
"""

from __future__ import annotations

import numpy as np

from compress.core.errors import ContainerError
from compress.media.lms import wrapped_step

KIND = "fo-nlms/1"
COEF, SHIFT = 31, 5         # x[n-1] * 31/32: Monkey's Audio's first-order filter
TAPS, WEIGHT_SHIFT, MU, EPS = 16, 16, 4, 14   # 16 taps, weights in 1/65536, step 2**-4, eps 2**14
MAX_TAPS = 256
MAX_SHIFT = 24
WEIGHT_LIMIT = 1 << 24      # |w| <= 2**24 and |h| < 2**31: |sum(w * h)| < 2**63 for 256 taps


MID_SIDE = "mid-side"           # the entry's optional "stereo" value (absent: channels coded apart)


def params() -> dict:
    """The header entry new containers get (every value the decoder needs; `stereo` is added by
    the caller when `choose_stereo` picks mid-side)."""
    return {"kind": KIND, "coef": COEF, "shift": SHIFT, "nlms": [TAPS, WEIGHT_SHIFT, MU, EPS]}


def mid_side(x: np.ndarray, bits: int, *, inverse: bool = False) -> np.ndarray:
    """Two channels [L, R] -> [M, S] with S = L - R and M = R + floor(S / 2), each wrapped to `bits`
    (FLAC's and WavPack's joint stereo, exact on integers: R = M - floor(S / 2), L = S + R, and the
    wrap cancels because the inverse sees the same wrapped S). inverse: [M, S] -> [L, R]."""
    half, mask = 1 << (bits - 1), (1 << bits) - 1
    a, b = x[:, 0].astype(np.int64), x[:, 1].astype(np.int64)
    if not inverse:
        side = ((a - b + half) & mask) - half
        return np.stack([((b + (side >> 1) + half) & mask) - half, side], axis=1)
    right = ((a - (b >> 1) + half) & mask) - half
    return np.stack([((b + right + half) & mask) - half, right], axis=1)


def choose_stereo(x: np.ndarray, bits: int, coef: int = COEF, shift: int = SHIFT) -> bool:
    """Whether mid-side costs less than the two channels apart, by the first-order residuals'
    sum of log2(1 + |e|) (a bit-count proxy; parameter-free, so nothing is tuned on any file):
    identical or near-identical channels (dual mono, a centred voice) make S small."""
    if x.ndim != 2 or x.shape[1] != 2 or not x.shape[0]:
        return False

    def cost(pair: np.ndarray) -> float:
        return float(sum(np.log2(1.0 + np.abs(first_order(pair[:, ch], bits, coef, shift))).sum()
                         for ch in range(2)))
    return cost(mid_side(x, bits)) < cost(x)


def check_entry(entry: dict) -> tuple[int, int, int, int, int, int]:
    """(coef, shift, taps, weight_shift, mu, eps) from a header entry; ContainerError names what
    is wrong. Bounds keep every intermediate inside int64 and the decoder's work per sample small."""
    try:
        if entry["kind"] != KIND:
            raise ValueError(f"unknown predictor {entry['kind']!r}")
        coef, shift = int(entry["coef"]), int(entry["shift"])
        taps, wshift, mu, eps = (int(v) for v in entry["nlms"])
        if entry.get("stereo", MID_SIDE) != MID_SIDE:
            raise ValueError(f"unknown stereo mode {entry['stereo']!r}")
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ContainerError(f"damaged audio predictor in the container header ({exc})") from None
    if not (0 <= shift <= 8 and 0 <= coef <= 1 << shift and 1 <= taps <= MAX_TAPS
            and 0 <= mu <= wshift <= MAX_SHIFT and 0 <= eps <= 40):
        raise ContainerError("damaged audio predictor in the container header (fo-nlms values)")
    return coef, shift, taps, wshift, mu, eps


def first_order(values: np.ndarray, bits: int, coef: int = COEF, shift: int = SHIFT, *,
                inverse: bool = False) -> np.ndarray:
    """The fixed first-order stage alone (forward: x -> e; inverse: e -> x)."""
    half, mask = 1 << (bits - 1), (1 << bits) - 1
    if not inverse:  # every x[n-1] is known: one vectorised step
        prev = np.concatenate(([0], values[:-1]))
        return ((values - ((coef * prev) >> shift) + half) & mask) - half
    out = np.empty(values.size, dtype=np.int64)
    x = 0
    for n, r in enumerate(values.tolist()):
        x = wrapped_step(r, (coef * x) >> shift, half, mask, True)[1]
        out[n] = x
    return out


def _nlms(values: np.ndarray, bits: int, taps: int, wshift: int, mu: int, eps: int, *,
          inverse: bool) -> np.ndarray:
    """The NLMS stage both directions share: forward maps e -> r, inverse r -> e."""
    half, mask = 1 << (bits - 1), (1 << bits) - 1
    s = max(0, bits - 16)
    w = np.zeros(taps, dtype=np.int64)
    h = np.zeros(taps, dtype=np.int64)    # h[0] = e[n-1], ...
    energy, floor_eps, lift = 0, 1 << eps, wshift - mu   # energy = sum((h >> s) ** 2), kept running
    out = np.empty(values.size, dtype=np.int64)
    for n, v in enumerate(values.tolist()):
        r, e = wrapped_step(v, int(w @ h) >> wshift, half, mask, inverse)
        out[n] = e if inverse else r
        rs = max(-(1 << 16), min(1 << 16, r >> s))
        if rs:
            w += ((rs * (h >> s if s else h)) << lift) // (floor_eps + energy)
            np.clip(w, -WEIGHT_LIMIT, WEIGHT_LIMIT, out=w)
        leaving, entering = int(h[-1]) >> s, e >> s
        energy += entering * entering - leaving * leaving
        h[1:] = h[:-1]
        h[0] = e
    return out


def forward(x: np.ndarray, bits: int, entry: dict | None = None) -> np.ndarray:
    """One channel's int64 samples -> the NLMS stage's residual (same width)."""
    coef, shift, taps, wshift, mu, eps = check_entry(entry or params())
    e = first_order(np.asarray(x, dtype=np.int64), bits, coef, shift)
    return _nlms(e, bits, taps, wshift, mu, eps, inverse=False)


def inverse(r: np.ndarray, bits: int, entry: dict | None = None) -> np.ndarray:
    """Inverse of forward()."""
    coef, shift, taps, wshift, mu, eps = check_entry(entry or params())
    e = _nlms(np.asarray(r, dtype=np.int64), bits, taps, wshift, mu, eps, inverse=True)
    return first_order(e, bits, coef, shift, inverse=True)
