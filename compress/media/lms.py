"""Backward-adaptive integer prediction after LPC: a cascade of sign LMS stages, exactly invertible.

Why: blockwise LPC (compress/media/lpc.py) fits one filter per 4096 frames, but speech changes
within a block, and the byte model that codes the residual behaves much like an adaptive Laplace
coder: it learns the residual's local scale, not the waveform. A second stage that keeps adapting
sample by sample (Monkey's Audio and OptimFROG cascade such filters; WavPack's "decorrelation
passes" are the same idea) removes what the block filter left. Sign-sign LMS needs no side
information and only integer arithmetic, so the decoder, which runs the same recursion on the
samples it has just rebuilt, gets the same predictions on every machine.

For one channel's LPC residual e (signed integers of `bits` bits), with weights w (all 0 at the
start) and the last `taps` values of e as history h (0 before the first):

    p[n] = floor(sum(w_k * h_k) / 2**shift)
    r[n] = wrap(e[n] - p[n], bits)            (what is coded; e[n] = wrap(p[n] + r[n], bits))
    w_k += step * sign(r[n]) * sign(h_k)       (after coding sample n; then |w_k| <= WEIGHT_LIMIT)

and several such stages in cascade, each on the previous one's output. That is kind "sslms/1".

Kind "sslms/2" (the default since 0.1 of the audio LMS work) keeps the sign of the error but
scales each history value's step by its size, the rule of Monkey's Audio's NN filters: a value
entering the history gets the delta d = sign(e) * step * (4 if |e| > 3a, 2 if 3|e| > 4a, 1 if
e != 0, else 0), a being the running mean of |e| (a += (|e| - a) // 16, integers), deltas are
halved as they pass history positions 1, 2 and 8 (older values adapt more gently), and
w_k += sign(r[n]) * d_k. Loud samples move the filter more than quiet ones, so it converges
faster after an onset without jittering in silence.

About 30 microseconds per sample each way for sslms/1's default cascade on the project CPU (a
Python loop, idle machine), small beside the byte model; side by side on 20,000 samples while a
2-thread bench held both cores, sslms/1 took 46/51 and sslms/2 43/50 microseconds forward/inverse.

Chosen on training and validation audio only (the codec2 and alsa files, never the test clips),
with an adaptive-Laplace cost proxy (bench/audio_lms_tune.py, bench/results/audio_lms_tune.json):
one stage of 16 taps, shift 12, step 32 was the best single stage (9.029 bits/sample on average
against 9.378 for LPC alone), and the four-stage cascade gains about 1% more (8.926). The scaled
rule of sslms/2 with twice those steps gives 8.872 (-0.6%; the same steps 8.912, three times
8.891, four times 8.908; sign-sign with twice the steps 8.985).
"""

from __future__ import annotations

import numpy as np

from compress.core.errors import ContainerError

SIGN_SIGN = "sslms/1"
SCALED = "sslms/2"
KINDS = (SIGN_SIGN, SCALED)
KIND = SCALED           # what new containers get
# (taps, shift, step) per stage, applied in this order to the LPC residual: a long slow filter,
# then shorter faster ones (the cascade Monkey's Audio uses); the decoder undoes them in reverse.
STAGES_V1 = ((256, 16, 4), (32, 14, 16), (16, 12, 32), (2, 12, 16))   # sslms/1's default
STAGES = ((256, 16, 8), (32, 14, 32), (16, 12, 64), (2, 12, 32))      # sslms/2's default
# after the NLMS stage of the "nlms+lms" predictor (compress/media/nlms.py): the long slow filter is
# dropped. It is most of the cascade's time, and on the first 40,000 frames of four validation files,
# where this was chosen, it gained nothing behind NLMS; the full proxy grid, run afterwards
# (bench/results/audio_nlms_tune.json), gives it 0.08%, too little to retrain for.
STAGES_AFTER_NLMS = STAGES[1:]
DECAY_AT = (1, 2, 8)    # sslms/2: history positions where a value's delta is halved
MAX_STAGES = 8
MAX_TAPS = 1024         # over all stages: bounds the decoder's work per sample
MAX_SHIFT = 24
MAX_STEP = 1 << 12
WEIGHT_LIMIT = 1 << 20  # |w| is clamped here, so |sum(w * h)| < 2**63 for any width up to 32 bits


def params(kind: str | None = None, stages=None) -> dict:
    """The header entry of a kind's cascade, its default unless `stages` says (every value the
    decoder needs); new containers get KIND's, sslms/1's stays for reproducing checkpoints trained on it."""
    kind = kind or KIND
    stages = stages or (STAGES_V1 if kind == SIGN_SIGN else STAGES)
    return {"kind": kind, "stages": [list(stage) for stage in stages]}


def check_entry(entry: dict) -> tuple[str, list[tuple[int, int, int]]]:
    """(kind, [(taps, shift, step), ...]) from a header entry; ContainerError names what is wrong."""
    try:
        if entry["kind"] not in KINDS:
            raise ValueError(f"unknown adaptive stage {entry['kind']!r}")
        stages = [(int(t), int(s), int(st)) for t, s, st in entry["stages"]]
    except (KeyError, ValueError, TypeError) as exc:
        raise ContainerError(f"damaged audio adaptive stage in the container header ({exc})") from None
    if not 1 <= len(stages) <= MAX_STAGES or sum(t for t, _, _ in stages) > MAX_TAPS or not all(
            t >= 1 and 0 <= s <= MAX_SHIFT and 0 <= st <= MAX_STEP for t, s, st in stages):
        raise ContainerError("damaged audio adaptive stage in the container header (stages)")
    return entry["kind"], stages


def wrapped_step(v: int, p: int, half: int, mask: int, inverse: bool) -> tuple[int, int]:
    """(residual, value) of one sample given its prediction p: forward, v is the value and the
    residual is wrap(v - p); inverse, v is the residual and the value is wrap(p + v). Every
    adaptive stage (this module's and compress/media/nlms.py's) codes through this one step."""
    if inverse:
        return v, ((p + v + half) & mask) - half
    return ((v - p + half) & mask) - half, v


def _run(values: np.ndarray, bits: int, taps: int, shift: int, step: int, *, inverse: bool,
         kind: str = SIGN_SIGN) -> np.ndarray:
    """One stage of either kind, the recursion both directions share: forward maps e -> r, inverse
    maps r -> e. int64 numpy throughout (exact; the weight clamp rules out overflow)."""
    scaled = kind == SCALED
    half, mask = 1 << (bits - 1), (1 << bits) - 1
    w = np.zeros(taps, dtype=np.int64)
    h = np.zeros(taps, dtype=np.int64)   # h[0] = e[n-1], ..., h[taps-1] = e[n-taps]
    d = np.zeros(taps, dtype=np.int64)   # sslms/2: d[k] is the step of h[k]'s weight, sign included
    decay = [k for k in DECAY_AT if k < taps]
    out = np.empty(values.size, dtype=np.int64)
    mean = 0
    for n, v in enumerate(values.tolist()):
        r, e = wrapped_step(v, int(w @ h) >> shift, half, mask, inverse)
        out[n] = e if inverse else r
        if r and scaled:
            if r > 0:
                w += d
            else:
                w -= d
            np.clip(w, -WEIGHT_LIMIT, WEIGHT_LIMIT, out=w)
        elif r and step:
            w += (step if r > 0 else -step) * np.sign(h)
            np.clip(w, -WEIGHT_LIMIT, WEIGHT_LIMIT, out=w)
        h[1:] = h[:-1]
        h[0] = e
        if scaled:
            d[1:] = d[:-1]
            for k in decay:
                d[k] >>= 1
            a = -e if e < 0 else e
            m = 4 * step if a > 3 * mean else 2 * step if 3 * a > 4 * mean else step if a else 0
            d[0] = -m if e < 0 else m
            mean += (a - mean) // 16
    return out


def forward(e: np.ndarray, bits: int, stages=STAGES, kind: str = KIND) -> np.ndarray:
    """One channel's int64 LPC residual -> the cascade's residual (same width)."""
    for taps, shift, step in stages:
        e = _run(np.asarray(e, dtype=np.int64), bits, taps, shift, step, inverse=False, kind=kind)
    return e


def inverse(r: np.ndarray, bits: int, stages=STAGES, kind: str = KIND) -> np.ndarray:
    """Inverse of forward(): the stages undone in reverse order."""
    for taps, shift, step in reversed(list(stages)):
        r = _run(np.asarray(r, dtype=np.int64), bits, taps, shift, step, inverse=True, kind=kind)
    return r
