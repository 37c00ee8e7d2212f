"""Pixel mixing: the pixel model's distribution mixed, in log space, with classical features of
the image that both ends have decoded so far, under weights learned online from the file.

Why: the byte model codes 16-pixel strips and sees only its strip and the rows above it; its
online tuning (compress/core/online.py) moves its weights between batches but not its calibration
within one. Mixing is the step the best lossless image coders take (several predictors blended by
how well each has done so far) and the papers' direction for beating them. Measured before it was
built, on the three validation photographs (centre 768x512 of wiki_016/019/020, `kodak_igpt/
cpu17280bf16` under adam/7, teacher-forced scoring-pass log-probabilities fed through this mixture
in the coder's step order; scratch `/tmp/s62/run2.py`, docs/targets.md stop 62): 324,241 ->
323,545 B (-0.215%), 523,176 -> 522,658 (-0.099%), 469,530 -> 469,212 (-0.068%): -0.116% together.
Probes (scratch): on the three together, learning rate 0.002 -0.113%, with Adam-style bias-
corrected RMS -0.110% (-0.094% at 0.001), weight sets per channel only -0.100%; on wiki_020 alone
0.003 +0.002%; on wiki_016 alone (learning rate 0.002) the temperature w0 alone -0.119%, the four
other features with neighbours from the strip only -0.210%, from any decoded strip -0.230%, weight
sets by the model's entropy -0.175%, histograms keyed by the model's likeliest value -0.199%. Each
step costs about 1 ms on 2 cores (6 s for a 768x512 photograph).

The mixture at a payload position p (an 8-bit sample of channel c; symbols v = 0..255 are sample
values, V = v - 128 their offset from a perfect prediction in the residual payloads images code):

    log q(v) = w0 log p(v) - w1 |V| / s + w2 V / s - w3 |V - m| / s
               + w4 (log((H[h, v] + ALPHA) / (n[h] + 256 ALPHA)) - log p(v))  - log Z

* p: the model's distribution (w0 acts as an inverse temperature);
* s = 1 + the mean of |r - 128| over the known samples of channel c among ten neighbours (W, N,
  NW, NE, E, SE, S, SW at weight 1; WW and NN at weight 1/2; 8 when none is known): the local
  activity, which scales the Laplacian (w1), tilt (w2) and local-median (w3) features;
* m: the median of W, N and W + N - NW (each r - 128, 0 when not known): MED over the residuals;
* H[h]: counts of the symbols coded so far in context h = (c, W's level, N's level), the levels
  of r - 128 cut at -6, -2, 0, 1, 3, 7: a file-level histogram, smoothed (w4, relative to p);
* the weight vector (w0..w4) is chosen by (c, activity bucket min(floor(2 log2 s), 11)), starts
  at (1, 0, 0, 0, 0) - the model's own distribution - and follows the code length's gradient
  E_q[f] - f(y), summed over a step's rows, RMS-normalised (compress/core/adapt.py's rule).

"Known" means decoded before this step: the mixer marks every sample it has been told (update) in
the coder's order (batch by batch, step by step; all rows of a step learn after all have mixed),
so a neighbour in another strip counts once the batch holding it has been coded. The geometry (which
payload position holds which sample) comes from the front end (`Geometry`); the mixer reads only
samples it was told, so both ends see the same features.

Determinism is the format: float64 numpy element-wise operations and axis sums only (no BLAS),
per-context sums in row order (np.add.at), on arrays of the same shapes at both ends; the header
records the version ("mix") and a version name stands for every constant here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

V1 = "pixel-mix/1"
VERSION = V1
VERSIONS = (V1,)

# (dy, dx, weight in the activity): W, N, NW, NE, WW, NN, E, SE, S, SW
NEIGHBOURS = ((0, -1, 1.0), (-1, 0, 1.0), (-1, -1, 1.0), (-1, 1, 1.0), (0, -2, 0.5), (-2, 0, 0.5),
              (0, 1, 1.0), (1, 1, 1.0), (1, 0, 1.0), (1, -1, 1.0))
NO_ACTIVITY = 8.0
BUCKETS = 12
LEVEL_EDGES = np.array([-6, -2, 0, 1, 3, 7])
LEVELS = len(LEVEL_EDGES) + 1
ALPHA = 0.02
FEATURES = 5
LEARNING_RATE = 0.001
RMS_DECAY = 0.999
RMS_EPS = 1e-3
SYMBOLS = 256
_V = np.arange(SYMBOLS, dtype=np.float64) - 128.0


def check_name(name: str | None) -> str | None:
    """`name` if this module implements it (or None: no mixing), else ValueError."""
    if name is not None and name not in VERSIONS:
        raise ValueError(f"unknown pixel mixing '{name}' (this lmcompress implements {', '.join(VERSIONS)})")
    return name


@dataclass(frozen=True)
class Geometry:
    """Where each 8-bit sample of an image lies in the payload. `index` [height, width, channels]:
    the payload position of each sample (a permutation of 0..N-1)."""

    index: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.index.shape)



def memory_bytes(samples: int, channels: int) -> int:
    """About the most a mixer over `samples` samples takes while it is built and used (checked
    before coding at both ends: engine.check_limits): the front end's index and its working
    copies (int32, three at the peak), the mixer's index and inverse (int32), the decoded samples
    and their known flags, and the histograms."""
    return 22 * int(samples) + 8 * SYMBOLS * (int(channels) * LEVELS * LEVELS + 1)


class PixelMixer:
    """The mixing state of one file: call `mix` then `update` once per coding step, in the coder's
    order, with the payload positions of the step's active rows."""

    def __init__(self, geometry: Geometry, version: str = VERSION):
        check_name(version)
        self.version = version
        height, width, channels = geometry.shape
        n = height * width * channels
        if n >= 1 << 31 or geometry.index.size != n:
            raise ValueError("pixel mixing: the geometry does not describe the payload")
        index = np.asarray(geometry.index).reshape(-1)
        if index.min(initial=0) < 0 or index.max(initial=0) >= max(n, 1):
            raise ValueError("pixel mixing: the geometry is not a permutation of the payload")
        self.height, self.width, self.channels = height, width, channels
        self.index = index.astype(np.int32)                   # sample (y, x, c) -> payload position
        self.where = np.full(n, -1, dtype=np.int32)           # payload position -> sample
        self.where[self.index] = np.arange(n, dtype=np.int32)
        if (self.where < 0).any():
            raise ValueError("pixel mixing: the geometry is not a permutation of the payload")
        self.known = np.zeros(n, dtype=bool)
        self.values = np.zeros(n, dtype=np.uint8)
        sets = channels * BUCKETS
        self.weights = np.zeros((sets, FEATURES), dtype=np.float64)
        self.weights[:, 0] = 1.0
        self.rms = np.zeros((sets, FEATURES), dtype=np.float64)
        self.counts = np.zeros((channels * LEVELS * LEVELS, SYMBOLS), dtype=np.float64)
        self.totals = np.zeros(channels * LEVELS * LEVELS, dtype=np.float64)
        self._pending = None

    @property
    def samples(self) -> int:
        return int(self.known.shape[0])

    def _context(self, positions: np.ndarray):
        """(weight set, histogram context, activity scale s, local median m) per position."""
        flat = self.where[positions].astype(np.int64)
        c = flat % self.channels
        x = (flat // self.channels) % self.width
        y = flat // (self.channels * self.width)
        act = np.zeros(len(flat), dtype=np.float64)
        seen = np.zeros(len(flat), dtype=np.float64)
        offsets = []
        for dy, dx, weight in NEIGHBOURS:
            yy, xx = y + dy, x + dx
            inside = (yy >= 0) & (yy < self.height) & (xx >= 0) & (xx < self.width)
            q = self.index[np.where(inside, (yy * self.width + xx) * self.channels + c, 0)]
            ok = inside & self.known[q]
            u = np.where(ok, self.values[q].astype(np.float64) - 128.0, 0.0)
            act += np.where(ok, np.abs(u) * weight, 0.0)
            seen += ok
            offsets.append(u)
        act = np.where(seen > 0, act / np.maximum(seen, 1.0), NO_ACTIVITY)
        s = 1.0 + act
        bucket = np.minimum(np.floor(np.log2(s) * 2.0).astype(np.int64), BUCKETS - 1)
        wu, nu, nwu = offsets[0], offsets[1], offsets[2]
        m = np.median(np.stack([wu, nu, wu + nu - nwu]), axis=0)
        levels = np.digitize(wu, LEVEL_EDGES), np.digitize(nu, LEVEL_EDGES)
        hist = (c * LEVELS + levels[0]) * LEVELS + levels[1]
        return c * BUCKETS + bucket, hist, s, m

    def mix(self, positions: np.ndarray, log_probs: np.ndarray) -> np.ndarray:
        """The mixed distributions [len(positions), 256] (float64, each summing to 1) for the
        samples at payload `positions`, from the model's log-probabilities over the 256 values
        (stepper.coding_log_probabilities)."""
        positions = np.asarray(positions, dtype=np.int64)
        if log_probs.shape != (len(positions), SYMBOLS):
            raise ValueError(f"pixel mixing needs {SYMBOLS}-symbol distributions, got {log_probs.shape}")
        sets, hist, s, m = self._context(positions)
        inv = (1.0 / s)[:, None]
        feats = (log_probs,
                 -np.abs(_V)[None, :] * inv,
                 _V[None, :] * inv,
                 -np.abs(_V[None, :] - m[:, None]) * inv,
                 np.log((self.counts[hist] + ALPHA) / (self.totals[hist][:, None] + SYMBOLS * ALPHA)) - log_probs)
        w = self.weights[sets]
        z = w[:, 0:1] * feats[0]
        for i in range(1, FEATURES):
            z += w[:, i:i + 1] * feats[i]
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        self._pending = (positions.copy(), sets, hist, feats, z)
        return z

    def update(self, positions: np.ndarray, symbols: np.ndarray) -> None:
        """Learn from the symbols just coded at `positions` (those `mix` was given, in order):
        the weights, then the histograms, then the samples become known."""
        positions = np.asarray(positions, dtype=np.int64)
        if self._pending is None or not np.array_equal(self._pending[0], positions):
            raise ValueError("update() must follow mix() for the same positions")
        _, sets, hist, feats, q = self._pending
        self._pending = None
        symbols = np.asarray(symbols, dtype=np.int64)
        rows = np.arange(len(positions))
        grad = np.stack([(q * f).sum(axis=1) - f[rows, symbols] for f in feats], axis=1)
        total = np.zeros_like(self.weights)
        np.add.at(total, sets, grad)
        used = np.zeros(len(self.weights), dtype=bool)
        used[sets] = True
        g = total[used]
        self.rms[used] = RMS_DECAY * self.rms[used] + (1 - RMS_DECAY) * g * g
        self.weights[used] -= LEARNING_RATE * g / (np.sqrt(self.rms[used]) + RMS_EPS)
        np.add.at(self.counts, (hist, symbols), 1.0)
        np.add.at(self.totals, hist, 1.0)
        self.known[positions] = True
        self.values[positions] = symbols.astype(np.uint8)
