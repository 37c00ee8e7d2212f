"""Quarter-pel block motion compensation for the video front end, integer-only and exactly invertible.

Why: a frame of a moving scene is the previous frame shifted, block by block, by fractions of a
pixel. `med-temporal` predicts each pixel from the previous frame at the same place, so anything
that moved leaves an edge-shaped residual; the motion-compensated codecs (x264) look up where each
block came from. On carphone_qcif.y4m frames 1-10 (zeroth-order entropy of the residual bytes,
/tmp probe, no vectors counted) the previous frame at the same place + MED leaves 3.17 bits/byte,
8x8 blocks at whole pixels 2.93, at half pixels 2.69, at quarter pixels 2.47. Two references
(frames 2-17, 40-55 and 90-105, modes and both vectors counted) gain another 3.1-3.3%.

The scheme (video predictor `mc-temporal`):

* two references: the previous frame and the one before it (the previous one again for a unit's
  second frame, which has no other);
* the luma plane is cut into BLOCK x BLOCK blocks; each has a mode (MODES: the previous frame, the
  one before, or the rounded average of both, two hypotheses as in H.264's bi-prediction) and a
  vector (vy, vx) in quarter pixels into each reference, chosen by the encoder (`search`: the
  smallest sum of absolute differences over whole pixels within +-SEARCH, then refined to half
  and quarter pixels around it; `choose`: the mode with the smallest such sum). The decoder never
  searches: modes and vectors travel in the payload (`side_bytes`: the modes as 0x80 + mode, then
  each reference's vectors as differences from the median of their left, upper and upper-right
  neighbours, stored as (v - prediction + 128) mod 256 so that a perfectly predicted vector is
  0x80, like a perfectly predicted pixel; a vector its block's mode does not use is stored as its
  prediction);
* every plane is predicted from the same planes of the references at the pixel's position plus
  the vectors of the luma block it lies in, scaled down by the plane's subsampling (`predict`);
  positions between pixels come from `upsample`: H.264's 6-tap half-pel filter, then rounded
  averages of neighbouring half-pel samples for the quarter positions; positions beyond the plane
  take the nearest edge sample (clipped indices), so any vector, even a hostile one, is valid;
* the residual is (x - prediction + 128) mod 256, as every predictor here.

Every step is integer numpy arithmetic (shifts floor), so both ends compute the same prediction on
every machine; the search is deterministic too but only the encoder runs it. Every function below
takes a reference as its `upsample` grid, so each frame's planes are upsampled once, however many
searches and predictions use them.
"""

from __future__ import annotations

import numpy as np

BLOCK = 8      # luma block side, pixels
SEARCH = 7     # whole-pixel search range each way; vectors stay within +-(4 * SEARCH + 3) quarter pixels
TAPS = (1, -5, 20, 20, -5, 1)


def blocks(height: int, width: int) -> tuple[int, int]:
    """(rows, columns) of luma blocks covering a height x width plane."""
    return -(-height // BLOCK), -(-width // BLOCK)


MODES = ("previous", "before", "average")
SIDE_BYTES_PER_BLOCK = 5   # mode, the vector into the previous frame, the vector into the one before


def side_bytes_per_frame(height: int, width: int) -> int:
    rows, cols = blocks(height, width)
    return SIDE_BYTES_PER_BLOCK * rows * cols


def upsample(plane: np.ndarray) -> np.ndarray:
    """(H, W) plane of 0..255 -> (4H, 4W) uint8 grid of quarter-pel samples; [4y, 4x] is (y, x).
    int32 sums (the largest, |centre| <= 255 * 52 * 52, fits) and int16 half-pel samples keep the
    working memory near 40 bytes per pixel."""
    p = plane.astype(np.int32)
    h, w = p.shape
    q = np.pad(p, ((2, 3), (2, 3)), mode="edge")           # 6 taps reach x-2 .. x+3
    across = sum(t * q[:, i : i + w] for i, t in enumerate(TAPS))        # (h + 5, w): between x, x+1
    down = sum(t * q[i : i + h, 2 : 2 + w] for i, t in enumerate(TAPS))  # (h, w): between y, y+1
    centre = sum(t * across[i : i + h] for i, t in enumerate(TAPS))      # (h, w): both
    half = np.empty((2 * h, 2 * w), dtype=np.int16)
    half[0::2, 0::2] = p
    half[0::2, 1::2] = np.clip((across[2 : 2 + h] + 16) >> 5, 0, 255)
    half[1::2, 0::2] = np.clip((down + 16) >> 5, 0, 255)
    half[1::2, 1::2] = np.clip((centre + 512) >> 10, 0, 255)
    e = np.pad(half, ((0, 1), (0, 1)), mode="edge")
    quarter = np.empty((4 * h, 4 * w), dtype=np.uint8)
    quarter[0::2, 0::2] = half
    quarter[0::2, 1::2] = (e[:-1, :-1] + e[:-1, 1:] + 1) >> 1
    quarter[1::2, 0::2] = (e[:-1, :-1] + e[1:, :-1] + 1) >> 1
    quarter[1::2, 1::2] = (e[:-1, 1:] + e[1:, :-1] + 1) >> 1
    return quarter


def _per_pixel(per_block: np.ndarray, shape: tuple[int, int], sub: tuple[int, int],
               luma: tuple[int, int]) -> np.ndarray:
    """A per-block array spread over a plane of `shape` with subsampling `sub` = (sx, sy): each
    pixel takes the value of the luma block its top-left luma sample lies in."""
    sx, sy = sub
    ys = np.minimum(np.arange(shape[0]) * sy, luma[0] - 1) // BLOCK
    xs = np.minimum(np.arange(shape[1]) * sx, luma[1] - 1) // BLOCK
    return per_block[ys][:, xs]


def _pixel_vectors(vectors: np.ndarray, shape: tuple[int, int], sub: tuple[int, int],
                   luma: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel (vy, vx) maps: the block's vector divided by the subsampling (floor: quarter
    pixels of the subsampled plane)."""
    v = _per_pixel(vectors, shape, sub, luma)
    return v[..., 0] // sub[1], v[..., 1] // sub[0]


def _gather(grid: np.ndarray, vy: np.ndarray, vx: np.ndarray) -> np.ndarray:
    h4, w4 = grid.shape
    ys = np.clip(4 * np.arange(h4 // 4)[:, None] + vy, 0, h4 - 1)
    xs = np.clip(4 * np.arange(w4 // 4)[None, :] + vx, 0, w4 - 1)
    return grid[ys, xs].astype(np.int64)


def compensate(grid: np.ndarray, vectors: np.ndarray, sub: tuple[int, int],
               luma: tuple[int, int]) -> np.ndarray:
    """One hypothesis: a plane predicted from the same plane of one reference frame (its grid)."""
    vy, vx = _pixel_vectors(vectors, (grid.shape[0] // 4, grid.shape[1] // 4), sub, luma)
    return _gather(grid, vy, vx)


def _combine(modes: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.where(modes == 0, first, np.where(modes == 1, second, (first + second + 1) >> 1))


def predict(grids: tuple[np.ndarray, np.ndarray], side: tuple[np.ndarray, np.ndarray, np.ndarray],
            sub: tuple[int, int], luma: tuple[int, int]) -> np.ndarray:
    """Motion-compensated prediction of one plane from the grids of the same plane of both
    references, with the (modes, vectors into the previous frame, vectors into the one before) of
    `choose`."""
    modes, first, second = side
    pixel_modes = _per_pixel(modes, (grids[0].shape[0] // 4, grids[0].shape[1] // 4), sub, luma)
    one = compensate(grids[0], first, sub, luma)
    two = compensate(grids[1], second, sub, luma) if (modes != 0).any() else one
    return _combine(pixel_modes, one, two)


def _block_sad(cur: np.ndarray, pred: np.ndarray) -> np.ndarray:
    h, w = cur.shape
    rows, cols = blocks(h, w)
    d = np.zeros((rows * BLOCK, cols * BLOCK), dtype=np.int64)
    d[:h, :w] = np.abs(cur - pred)
    return d.reshape(rows, BLOCK, cols, BLOCK).sum(axis=(1, 3))


def search(grid: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Encoder only: (rows, cols, 2) int64 quarter-pel vectors that predict `current` (luma) from
    the reference whose `upsample` grid is `grid`, with the least sum of absolute differences per
    block. Whole pixels first (in order of distance from no motion, so ties keep the shortest
    vector), then half and quarter steps around each block's best; a step is taken only when it is
    strictly better."""
    h, w = current.shape
    cur = current.astype(np.int64)
    rows, cols = blocks(h, w)
    best = np.full((rows, cols), np.iinfo(np.int64).max, dtype=np.int64)
    vectors = np.zeros((rows, cols, 2), dtype=np.int64)
    whole = sorted(((dy, dx) for dy in range(-SEARCH, SEARCH + 1) for dx in range(-SEARCH, SEARCH + 1)),
                   key=lambda v: (abs(v[0]) + abs(v[1]), v))
    for dy, dx in whole:
        sad = _block_sad(cur, _gather(grid, 4 * dy, 4 * dx))
        better = sad < best
        best = np.where(better, sad, best)
        vectors[better] = (4 * dy, 4 * dx)
    for step in (2, 1):
        centre = vectors.copy()
        for ry in (-step, 0, step):
            for rx in (-step, 0, step):
                if ry == rx == 0:
                    continue
                trial = centre + np.array([ry, rx])
                sad = _block_sad(cur, _gather(grid, *_pixel_vectors(trial, (h, w), (1, 1), (h, w))))
                better = sad < best
                best = np.where(better, sad, best)
                vectors[better] = trial[better]
    return vectors


def choose(grids: tuple[np.ndarray, np.ndarray], current: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encoder only: (modes, vectors into the previous frame, vectors into the one before) for the
    luma plane `current`, from the references' luma grids: each reference's best vectors
    (`search`), then per block the mode whose prediction has the smallest sum of absolute
    differences (ties: the earlier mode)."""
    first, second = search(grids[0], current), search(grids[1], current)
    h, w = current.shape
    one = compensate(grids[0], first, (1, 1), (h, w))
    two = compensate(grids[1], second, (1, 1), (h, w))
    cur = current.astype(np.int64)
    sads = np.stack([_block_sad(cur, one), _block_sad(cur, two), _block_sad(cur, (one + two + 1) >> 1)])
    return np.argmin(sads, axis=0), first, second


def side_bytes(side: tuple[np.ndarray, np.ndarray, np.ndarray]) -> bytes:
    """(modes, first, second) -> SIDE_BYTES_PER_BLOCK bytes per block: the modes (0x80 + mode) in
    raster order, then the vectors into the previous frame, then those into the one before
    (vector_bytes; a block whose mode uses only the previous frame stores its prediction)."""
    modes, first, second = side
    return ((modes + 128).astype(np.uint8).tobytes() + vector_bytes(first)
            + vector_bytes(second, used=modes != 0))


def read_side(data: bytes, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of side_bytes for any bytes of the right length: a mode byte b means (b - 128) mod 3."""
    n = rows * cols
    modes = np.mod(np.frombuffer(data, dtype=np.uint8, count=n).astype(np.int64) - 128, len(MODES))
    return (modes.reshape(rows, cols), read_vectors(data[n : 3 * n], rows, cols),
            read_vectors(data[3 * n : 5 * n], rows, cols))


def _median_prediction(vectors: np.ndarray, r: int, c: int) -> np.ndarray:
    """Prediction of block (r, c)'s vector from the ones before it in raster order (H.264-like):
    the left one on the first row; below it, the median of left, upper and upper-right (upper-left
    at the right edge; the upper one stands in for a missing left)."""
    if r == 0:
        return vectors[0, c - 1] if c else np.zeros(2, dtype=np.int64)
    up = vectors[r - 1, c]
    left = vectors[r, c - 1] if c else up
    right = vectors[r - 1, c + 1] if c + 1 < vectors.shape[1] else (vectors[r - 1, c - 1] if c else up)
    return np.sort(np.stack([left, up, right]), axis=0)[1]


def vector_bytes(vectors: np.ndarray, used: np.ndarray | None = None) -> bytes:
    """Vectors -> 2 bytes per block in raster order: (v - median prediction + 128) mod 256, vy then
    vx. A block where `used` is False stores 0x80 0x80: its vector becomes the prediction (so the
    neighbours after it are predicted from what the decoder will hold)."""
    rows, cols, _ = vectors.shape
    held = vectors.copy()
    out = np.empty((rows, cols, 2), dtype=np.int64)
    for r in range(rows):
        for c in range(cols):
            guess = _median_prediction(held, r, c)
            if used is not None and not used[r, c]:
                held[r, c] = guess
            out[r, c] = held[r, c] - guess
    return ((out + 128) & 0xFF).astype(np.uint8).tobytes()


def read_vectors(data: bytes, rows: int, cols: int) -> np.ndarray:
    """Inverse of vector_bytes for any bytes: each vector lands in [-128, 127] (wrapped)."""
    codes = np.frombuffer(data, dtype=np.uint8).astype(np.int64).reshape(rows, cols, 2)
    vectors = np.zeros((rows, cols, 2), dtype=np.int64)
    for r in range(rows):
        for c in range(cols):
            vectors[r, c] = ((codes[r, c] + _median_prediction(vectors, r, c)) & 0xFF) - 128
    return vectors
