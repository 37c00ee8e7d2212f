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

ngram-mix/2 (the default) first moves the model's distribution by a dense log-space bias over the
alphabet, shared by all rows and learned online (p <- softmax(log p + b), b <- b - BIAS_RATE * sum
over the step's rows of (q - onehot(y)), q the final mixture): a file-level correction of the
model's calibration, e.g. alice29's CRLF line ends, which a model trained on LF text under-predicts.
Everything after it is ngram-mix/1 on the corrected distribution. Measured on the whole of alice29
(parallel-pass logits, 15 rows, context 1024, keep 256): model 1.1334 bpb, ngram-mix/1 1.1000,
ngram-mix/2 1.0681 (bench/results/adapt_tune.json).

The weight vector (w0, w1..wK) is chosen by the highest order whose context has been seen (so a
long seen context can earn more trust than a short one), wm by the match length; every weight is
learned online by RMS-normalised gradient descent on the code length -log q(y), whose gradient is
E_q[f] - f(y) for each feature f. Everything is sparse except w0's feature (one dense pass of
exp/log per row per step).
"""

from __future__ import annotations

import numpy as np

V1 = "ngram-mix/1"
V2 = "ngram-mix/2"             # V1 after a shared, online-learned log-space bias (see above)
VERSION = V2
VERSIONS = (V1, V2)

ORDERS = (1, 2, 3, 4, 6)       # n-gram context lengths in symbols
MATCH_MIN = 8                  # symbols a match must share before it predicts
MATCH_BUCKETS = 16             # match lengths 8.., bucketed by (len - MATCH_MIN) // 2, capped
INIT_W0 = 1.0
INIT_WK = 0.3
LEARNING_RATE = 0.002
RMS_DECAY = 0.999
RMS_EPS = 1e-3
BIAS_RATE = 0.06               # ngram-mix/2: the bias's learning rate (plain gradient step)
P_FLOOR = 1e-9                 # p(v) below this is treated as this in the n-gram ratio
_FEATURES = 1 + len(ORDERS)


class Mixer:
    """The adaptive model of one batch: call `mix` then `update` once per coding step."""

    def __init__(self, rows: int, version: str = VERSION):
        if version not in VERSIONS:
            raise ValueError(f"unknown adaptation '{version}' (this lmcompress implements "
                             f"{', '.join(VERSIONS)})")
        self.rows = rows
        self.version = version
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
        self._buffers: dict = {}
        self.bias = None if version == V1 else np.zeros(0, dtype=np.float64)  # sized at first mix

    # -- prediction ------------------------------------------------------------------------------
    def mix(self, rows: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """ngram-mix/1: the mixed distributions [len(rows), K] (float64, each summing to 1) for
        `rows`, given the model's distributions `probs` (stepper.coding_probabilities)."""
        if self.version != V1:
            raise ValueError(f"{self.version} mixes log-probabilities: call mix_log")
        return self._mix_rows(rows, np.log(np.maximum(probs, 1e-300)), lambda i, syms: probs[i, syms])

    def mix_log(self, rows: np.ndarray, log_probs: np.ndarray) -> np.ndarray:
        """ngram-mix/2: as `mix`, from the model's float64 log-probabilities
        (stepper.coding_log_probabilities), first moved by the shared bias. Staying in log space
        costs two dense exp passes per row instead of ngram-mix/1's softmax, log and exp."""
        if self.version == V1:
            raise ValueError(f"{V1} mixes probabilities: call mix")
        if self.bias.shape[0] != log_probs.shape[1]:
            if self.bias.shape[0]:
                raise ValueError("the alphabet changed between steps")
            self.bias = np.zeros(log_probs.shape[1], dtype=np.float64)
        x = log_probs + self.bias
        x -= x.max(axis=1, keepdims=True)
        e = self._scratch("exp", x.shape)
        np.exp(x, out=e)
        total = e.sum(axis=1, keepdims=True)
        x -= np.log(total)  # log softmax(log p + bias)
        return self._mix_rows(rows, x, lambda i, syms: e[i, syms] / total[i, 0])

    def _scratch(self, name: str, shape: tuple) -> np.ndarray:
        """A float64 work array kept between steps (the coder's hot loop would otherwise allocate and
        fault in a few MB per step). Where a result goes does not change its bits: the same numpy
        element-wise loops write it."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape:
            buf = self._buffers[name] = np.empty(shape, dtype=np.float64)
        return buf

    def _mix_rows(self, rows, logp: np.ndarray, prob_at) -> np.ndarray:
        """The mixture of each row from its (corrected) model log-probabilities `logp[i]`;
        `prob_at(i, syms)` gives the same distribution's probabilities at a few symbols."""
        out = np.empty_like(logp, dtype=np.float64)
        pending = []
        for i, r in enumerate(rows):
            lp = logp[i]
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
                g = np.log1p(c / (len(counts) * np.maximum(prob_at(i, syms), P_FLOOR)))
                found.append((j, syms, g))
            wset = found[-1][0] + 1 if found else 0
            w = self.weights[wset]
            s = out[i]  # built in place: the row of the returned mixture
            np.multiply(lp, w[0], out=s)
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
            np.exp(s, out=s)
            s /= s.sum()
            pending.append((wset, lp, found, match, s))
        self._pending = (np.asarray(rows).copy(), pending)
        return out

    # -- learning --------------------------------------------------------------------------------
    def update(self, rows: np.ndarray, symbols: np.ndarray) -> None:
        """Learn from the symbols just coded for `rows` (the same rows `mix` was given), in row
        order: weights first (with the distributions `mix` returned), then counts and matches."""
        if self._pending is None:
            raise ValueError("update() must follow mix() for the same rows")
        done, pending = self._pending
        if not np.array_equal(done, rows):
            raise ValueError("update() must follow mix() for the same rows")
        self._pending = None
        coded = zip(rows.tolist(), symbols.tolist(), strict=True)
        product = self._scratch("product", (len(pending[0][1]),)) if pending else None
        for (r, y), (wset, lp, found, match, q) in zip(coded, pending, strict=True):
            grad = np.zeros(_FEATURES, dtype=np.float64)
            grad[0] = float(np.multiply(q, lp, out=product).sum()) - lp[y]
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
        if self.bias is not None:
            grad = np.zeros_like(self.bias)
            for y, (_, _, _, _, q) in zip(symbols.tolist(), pending, strict=True):  # row order: fixed sums
                grad += q
                grad[y] -= 1.0
            self.bias -= BIAS_RATE * grad

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
