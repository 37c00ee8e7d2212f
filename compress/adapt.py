"""Online adaptation beside the model: a token n-gram model, a match model and a log-space mixer.

Both ends run exactly this code on exactly the same inputs (the float64 probabilities the stepper's
logits give, the symbols already coded, in the same order), so they compute the same mixture bit for
bit: float64 numpy element-wise operations and pairwise sums only (no BLAS, whose reduction order
can depend on the thread count), state updated row by row in row order. The version string is
recorded in the header ("adapt"); any change to a constant or to the arithmetic below changes the
bits and must get a new version.

The mixture for one row, over the coding alphabet (symbols v):

    log q(v) = w0 * log p(v)  +  sum_k  wk * log(1 + c_k(v) / (u_k * p(v)))  +  wm[b] * [v == m]  - log Z

* p: the model's distribution (w0 is an adaptive inverse temperature);
* c_k(v): how often v followed the row's last k symbols anywhere in the file so far (counts are
  shared by all rows: a stretch coded by row 3 teaches row 7), u_k the number of distinct symbols
  seen after that context. `log(1 + c/(u p))` is, up to a constant that the normalisation removes,
  log of the Witten-Bell estimate (c + u p) / (N + u) relative to p: the n-gram model smoothed
  with the language model as its base distribution. With one order and wk = 1 the mixture *is*
  that estimate; with several orders the weights decide how far to trust each;
* m: the symbol that followed the longest earlier occurrence of the row's recent symbols (the
  match model), b its match-length bucket.

The weight vector (w0, w1..wK) is chosen by the highest order whose context has been seen (so a
long seen context can earn more trust than a short one), wm by the match length; every weight is
learned online by RMS-normalised gradient descent on the code length -log q(y), whose gradient is
E_q[f] - f(y) for each feature f. Everything is sparse except w0's feature (one dense pass of
exp/log per row per step).
"""

from __future__ import annotations

import numpy as np

VERSION = "ngram-mix/1"
VERSIONS = (VERSION,)

ORDERS = (1, 2, 3, 4, 6)       # n-gram context lengths in symbols
MATCH_MIN = 8                  # symbols a match must share before it predicts
MATCH_BUCKETS = 16             # match lengths 8.., bucketed by (len - MATCH_MIN) // 2, capped
INIT_W0 = 1.0
INIT_WK = 0.3
LEARNING_RATE = 0.002
RMS_DECAY = 0.999
RMS_EPS = 1e-3
P_FLOOR = 1e-9                 # p(v) below this is treated as this in the n-gram ratio
_FEATURES = 1 + len(ORDERS)


class Mixer:
    """The adaptive model of one batch: call `mix` then `update` once per coding step."""

    def __init__(self, rows: int, version: str = VERSION):
        if version not in VERSIONS:
            raise ValueError(f"unknown adaptation '{version}' (this lmcompress implements "
                             f"{', '.join(VERSIONS)})")
        self.rows = rows
        self.history: list[list[int]] = [[] for _ in range(rows)]
        self.tables: list[dict] = [{} for _ in ORDERS]
        self.match_index: dict = {}
        self.match = [None] * rows  # (row, position of the predicted symbol, length) or None
        sets = len(ORDERS) + 1
        self.weights = np.full((sets, _FEATURES), INIT_WK, dtype=np.float64)
        self.weights[:, 0] = INIT_W0
        self.rms = np.zeros((sets, _FEATURES), dtype=np.float64)
        self.match_weights = np.zeros(MATCH_BUCKETS, dtype=np.float64)
        self.match_rms = np.zeros(MATCH_BUCKETS, dtype=np.float64)
        self._pending = None

    # -- prediction ------------------------------------------------------------------------------
    def mix(self, rows: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """The mixed distributions [len(rows), K] (float64, each summing to 1) for `rows`, given
        the model's distributions `probs` for the same rows."""
        out = np.empty_like(probs, dtype=np.float64)
        pending = []
        for i, r in enumerate(rows):
            p = probs[i]
            lp = np.log(np.maximum(p, 1e-300))
            hist = self.history[r]
            found = []
            for j, k in enumerate(ORDERS):
                if len(hist) < k:
                    break
                counts = self.tables[j].get(tuple(hist[len(hist) - k:]))
                if counts is None:
                    continue
                syms = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                c = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
                g = np.log1p(c / (len(counts) * np.maximum(p[syms], P_FLOOR)))
                found.append((j, syms, g))
            wset = found[-1][0] + 1 if found else 0
            w = self.weights[wset]
            s = w[0] * lp
            for j, syms, g in found:
                s[syms] += w[1 + j] * g
            m = self.match[r]
            match = None
            if m is not None:
                bucket = min((m[2] - MATCH_MIN) // 2, MATCH_BUCKETS - 1)
                sym = self.history[m[0]][m[1]]
                s[sym] += self.match_weights[bucket]
                match = (sym, bucket)
            s -= s.max()
            q = np.exp(s)
            q /= q.sum()
            out[i] = q
            pending.append((wset, lp, found, match, q))
        self._pending = (np.asarray(rows).copy(), pending)
        return out

    # -- learning --------------------------------------------------------------------------------
    def update(self, rows: np.ndarray, symbols: np.ndarray) -> None:
        """Learn from the symbols just coded for `rows` (the same rows `mix` was given), in row
        order: weights first (with the distributions `mix` returned), then counts and matches."""
        done, pending = self._pending
        if not np.array_equal(done, rows):
            raise ValueError("update() must follow mix() for the same rows")
        self._pending = None
        for (r, y), (wset, lp, found, match, q) in zip(zip(rows.tolist(), symbols.tolist()), pending):
            grad = np.zeros(_FEATURES, dtype=np.float64)
            grad[0] = float((q * lp).sum()) - lp[y]
            for j, syms, g in found:
                hit = g[syms == y]
                grad[1 + j] = float((q[syms] * g).sum()) - (float(hit[0]) if hit.size else 0.0)
            self._step(self.weights[wset], self.rms[wset], grad)
            if match is not None:
                sym, bucket = match
                gm = q[sym] - (1.0 if sym == y else 0.0)
                self.match_rms[bucket] = RMS_DECAY * self.match_rms[bucket] + (1 - RMS_DECAY) * gm * gm
                self.match_weights[bucket] -= LEARNING_RATE * gm / (np.sqrt(self.match_rms[bucket]) + RMS_EPS)
            self._learn(r, y)

    @staticmethod
    def _step(w: np.ndarray, rms: np.ndarray, grad: np.ndarray) -> None:
        rms *= RMS_DECAY
        rms += (1 - RMS_DECAY) * grad * grad
        w -= LEARNING_RATE * grad / (np.sqrt(rms) + RMS_EPS)

    def _learn(self, r: int, y: int) -> None:
        hist = self.history[r]
        for j, k in enumerate(ORDERS):
            if len(hist) < k:
                break
            counts = self.tables[j].setdefault(tuple(hist[len(hist) - k:]), {})
            counts[y] = counts.get(y, 0) + 1
        m = self.match[r]
        if m is not None:
            src, pos, length = m
            if self.history[src][pos] == y:
                self.match[r] = (src, pos + 1, length + 1)
            else:
                self.match[r] = None
        hist.append(y)
        n = len(hist)
        if n >= MATCH_MIN:
            key = tuple(hist[-MATCH_MIN:])
            if self.match[r] is None:
                where = self.match_index.get(key)
                if where is not None:
                    self.match[r] = (where[0], where[1], MATCH_MIN)
            self.match_index[key] = (r, n)
        m = self.match[r]
        if m is not None and m[1] >= len(self.history[m[0]]):  # points past what is known yet
            self.match[r] = None
