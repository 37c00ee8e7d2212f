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
  smallest sum of absolute differences over whole pixels within +-SEARCH, then refined to quarter
  pixels around it; `choose`: searches again weighing each vector's bits against its SAD, as x264
  does, refines the pair of the average mode together, and takes the mode with the least SAD plus
  bits). The decoder never searches: modes and vectors travel in the payload (`side_bytes`: the
  modes as 0x80 + mode, then
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

Video predictor `mc-intra` is the same with a fourth mode, intra (INTRA_MODES): the block's pixels
are predicted by MED from the current frame's own pixels (pixelpred.med_prediction; the decoder
restores the motion-compensated pixels first, then the intra ones, `code_frame`), for what neither
reference holds, as x264 codes intra blocks in P frames. Its mode bytes read mod 4, and each
vector is stored only where its block's mode uses it (a mode-1 block's vector into the previous
frame is its prediction too). Proxy on the synthetic validation clips (bench/motion_search.py):
812,898 -> 807,113 B (-0.7%).

Every step is integer numpy arithmetic (shifts floor), so both ends compute the same prediction on
every machine; the search is deterministic too but only the encoder runs it. Every function below
takes a reference as its `upsample` grid, so each frame's planes are upsampled once, however many
searches and predictions use them.
"""

from __future__ import annotations

import numpy as np

from compress.media import pixelpred

BLOCK = 8      # luma block side, pixels
SEARCH = 7     # whole-pixel search range each way; the encoder's vectors stay within
               # +-(4 * SEARCH + 3 * (RATE_PASSES + 2)) quarter pixels (each refinement adds +-3)
TAPS = (1, -5, 20, 20, -5, 1)


def blocks(height: int, width: int) -> tuple[int, int]:
    """(rows, columns) of luma blocks covering a height x width plane."""
    return -(-height // BLOCK), -(-width // BLOCK)


MODES = ("previous", "before", "average")
# mc-intra's modes: those three and a fourth, the block predicted from the current frame alone
# (each pixel by MED from its decoded neighbours, as a group's first frame is), for what neither
# reference holds: uncovered background, a hand entering the picture (x264's intra blocks in P
# frames).
INTRA_MODES = (*MODES, "intra")
INTRA = 3
SIDE_BYTES_PER_BLOCK = 5   # mode, the vector into the previous frame, the vector into the one before
RATE_WEIGHT = 1            # encoder only: SAD units one bit of a vector difference costs (see choose)
RATE_PASSES = 2            # encoder only: rate-aware searches after the SAD-only one
INTRA_PENALTY = 16         # encoder only: SAD units an intra block must win by (see choose)


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
    pixel takes the value of the luma block its top-left luma sample lies in. (The luma plane
    itself, the encoder's search's every trial, takes the same values by repeating each block's
    BLOCK x BLOCK times: about 8x faster than the index lookup.)"""
    if tuple(sub) == (1, 1) and tuple(shape) == tuple(luma):
        return np.repeat(np.repeat(per_block, BLOCK, axis=0)[: shape[0]], BLOCK, axis=1)[:, : shape[1]]
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
    """The grid's samples at each pixel's position plus its quarter-pel vector (vy, vx), indices
    clipped to the grid; one flat `take` (faster than a 2-D fancy index, the same values)."""
    h4, w4 = grid.shape
    ys = np.clip(4 * np.arange(h4 // 4)[:, None] + vy, 0, h4 - 1)
    xs = np.clip(4 * np.arange(w4 // 4)[None, :] + vx, 0, w4 - 1)
    return np.take(grid, ys * w4 + xs).astype(np.int64)


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


def code_frame(refs: tuple[list[np.ndarray], list[np.ndarray]], side: tuple[np.ndarray, np.ndarray, np.ndarray],
               planes: list[np.ndarray], subs, forward: bool) -> list[np.ndarray]:
    """One predicted frame, both ways: its planes -> residual planes (x - prediction + 128) mod 256
    (`forward`), or residual planes -> its planes. `refs` holds the upsampled planes of the previous
    frame and of the one before; `side` the (modes, first, second) of `choose` or `read_side`.
    Mode-3 (intra, mc-intra only) blocks are predicted by MED from the frame's own pixels: the
    encoder has them all; the decoder first restores every motion-compensated pixel, then the
    intra ones in an order where each one's neighbours are ready (pixelpred.med_restore_where)."""
    luma = planes[0].shape
    out = []
    for i, plane in enumerate(planes):
        pred = predict((refs[0][i], refs[1][i]), side, subs[i], luma)
        where = _per_pixel(side[0] == INTRA, plane.shape, subs[i], luma)
        if forward:
            if where.any():
                pred = np.where(where, pixelpred.med_prediction(plane), pred)
            out.append((plane - pred + 128) & 0xFF)
        else:
            known = (pred + plane - 128) & 0xFF
            out.append(pixelpred.med_restore_where(plane, known, where) if where.any() else known)
    return out


def _block_sad(cur: np.ndarray, pred: np.ndarray) -> np.ndarray:
    h, w = cur.shape
    rows, cols = blocks(h, w)
    d = np.zeros((rows * BLOCK, cols * BLOCK), dtype=np.int64)
    d[:h, :w] = np.abs(cur - pred)
    return d.reshape(rows, BLOCK, cols, BLOCK).sum(axis=(1, 3))


def vector_bits(differences: np.ndarray) -> np.ndarray:
    """Encoder only: the bits H.264's signed Exp-Golomb code would spend on vector differences
    [..., 2] (quarter pixels), summed over the two components: 1 for 0, 3 for +-1, 5 for +-2..3,
    ... A stand-in for what the model will pay for a vector byte that is not 0x80, in integers so
    that the search makes the same choices on every machine."""
    code = 2 * np.abs(differences) - (differences > 0)  # se(v)'s code numbers: 0, +1, -1, +2 -> 0, 1, 2, 3
    return (2 * np.searchsorted(_POWERS, code + 1, side="right") - 1).sum(axis=-1)


_POWERS = 2 ** np.arange(62, dtype=np.int64)


def median_field(vectors: np.ndarray) -> np.ndarray:
    """Each block's median prediction (`_median_prediction`) from the field `vectors` itself: what
    the vector bytes will store differences from, as far as the encoder can tell before it decides."""
    rows, cols, _ = vectors.shape
    out = np.empty_like(vectors)
    for r in range(rows):
        for c in range(cols):
            out[r, c] = _median_prediction(vectors, r, c)
    return out


def whole_pixel_costs(grid: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Encoder only: every whole-pixel vector within +-SEARCH in quarter pixels [N, 2], in order of
    distance from no motion, and each one's per-block SAD [N, rows, cols] predicting `current` from
    the reference whose grid is `grid`: computed once per reference, shared by `search`'s passes."""
    whole = sorted(((dy, dx) for dy in range(-SEARCH, SEARCH + 1) for dx in range(-SEARCH, SEARCH + 1)),
                   key=lambda v: (abs(v[0]) + abs(v[1]), v))
    cur = np.asarray(current, dtype=np.int64)
    sads = np.stack([_block_sad(cur, _gather(grid, 4 * dy, 4 * dx)) for dy, dx in whole])
    return 4 * np.array(whole, dtype=np.int64), sads


def search(grid: np.ndarray, current: np.ndarray, prior: np.ndarray | None = None,
           weight: int = 0, whole: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Encoder only: (rows, cols, 2) int64 quarter-pel vectors that predict `current` (luma) from
    the reference whose `upsample` grid is `grid`: per block the least sum of absolute differences
    plus `weight` x `vector_bits(v - prior)` (with a `prior` field of predicted vectors; without
    one, the SAD alone). Whole pixels first (`whole_pixel_costs`, or `whole` if given; ties keep
    the shortest vector), then the prior itself, then every quarter-pel offset within +-3 of each
    block's best; a candidate is taken only when it is strictly better."""
    h, w = current.shape
    cur = np.asarray(current, dtype=np.int64)
    candidates, sads = whole if whole is not None else whole_pixel_costs(grid, current)
    costs = sads
    if prior is not None:
        costs = sads + weight * vector_bits(candidates[:, None, None, :] - prior[None])
    pick = np.argmin(costs, axis=0)  # the first of equal costs: the shortest vector
    vectors = candidates[pick]
    best = np.take_along_axis(costs, pick[None], axis=0)[0]

    def cost(trial: np.ndarray) -> np.ndarray:
        sad = _block_sad(cur, compensate(grid, trial, (1, 1), (h, w)))
        return sad if prior is None else sad + weight * vector_bits(trial - prior)

    if prior is not None:
        best = _take_cheaper(vectors, best, prior, cost(prior))
    return _refine(vectors, best, cost)[0]


def _take_cheaper(vectors: np.ndarray, best: np.ndarray, trial: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Blocks where `trial` costs strictly less than `best` take it (in `vectors`); the new best."""
    better = cost < best
    vectors[better] = trial[better]
    return np.where(better, cost, best)


def _refine(vectors: np.ndarray, best: np.ndarray, cost) -> tuple[np.ndarray, np.ndarray]:
    """Every quarter-pel offset within +-3 of each block's vector, each trial field priced by
    `cost` (per block), kept where strictly cheaper: (the refined vectors, their costs)."""
    refined = vectors.copy()
    for ry in range(-3, 4):
        for rx in range(-3, 4):
            if ry or rx:
                trial = vectors + np.array([ry, rx])
                best = _take_cheaper(refined, best, trial, cost(trial))
    return refined, best


def choose(grids: tuple[np.ndarray, np.ndarray], current: np.ndarray, *, weight: int = RATE_WEIGHT,
           passes: int = RATE_PASSES, intra: bool = False,
           penalty: int = INTRA_PENALTY) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encoder only: (modes, vectors into the previous frame, vectors into the one before) for the
    luma plane `current`, from the references' luma grids, choosing as a rate-aware encoder does
    (x264's motion search weighs the vector's bits against the distortion in the same way):

    1. each reference's vectors by SAD alone (`search`), then `passes` more searches that add
       `weight` x the bits of each vector's difference from the median of its neighbours (taken
       from the previous pass), so that a block whose candidates predict about equally well takes
       the vector its neighbours imply: a smoother field, more 0x80 vector bytes;
    2. for the average mode, the vector into the older frame refined with the newer one's
       prediction fixed (the two hypotheses chosen together, not each alone);
    3. per block the mode with the least SAD + `weight` x the bits of the older frame's vector
       (mode 0 stores it as its prediction: no bits; ties keep the earlier mode).

    Chosen on the synthetic validation clips (`recipe=video_mc`'s photographs 15-16; 56 predicted
    frames, zeroth-order entropy of the payload, bench/motion_search.py -> motion_search.json):
    SAD alone 822,130 B, weights 1 / 2 / 3 (two passes) 812,212 / 812,898 / 814,970 B; 829,051 B
    with the earlier search (SAD alone, half- then quarter-pel steps, no pairing; a scratch run).
    The weight is 1, weighed by what the video model `video_mc/cpu8640` pays instead (its scoring
    pass over the whole payload, one group: `bench/motion_search.py --model`): on four 40-frame
    clips of the validation photographs 2,093,097 B against 2,101,378 at weight 2 (-0.39%), which
    this proxy's reasoning had chosen (the model, it guessed, codes a smoother field's runs of
    0x80 for less than their entropy), 2,106,696 by SAD alone and 2,111,642 at weight 3
    (motion_search_model.json; four other clips, scratch: -0.25%, docs/targets.md).

    With `intra` (mc-intra) step 3 also weighs the intra mode, at the SAD of the block's MED
    prediction from the current frame + `penalty` (INTRA_PENALTY), and counts the newer frame's vector bits
    too, since mc-intra stores each vector only where the mode uses it. The penalty was chosen on
    the same proxy: 0 / 16 / 48 gave -0.58 / -0.72 / -0.66% against mc-temporal (a scratch run;
    bench/motion_search.py --predictor mc-intra measures the default); under the model 64 costs
    0.01% more than 16 (2,093,297 B; it wins on two of the four clips).
    The decoder never runs this: any choice decodes."""
    h, w = current.shape
    wholes = [whole_pixel_costs(grid, current) for grid in grids]
    first, second = (search(grid, current, whole=whole) for grid, whole in zip(grids, wholes, strict=True))
    for _ in range(passes):
        first = search(grids[0], current, median_field(first), weight, wholes[0])
        second = search(grids[1], current, median_field(second), weight, wholes[1])
    one = compensate(grids[0], first, (1, 1), (h, w))
    two = compensate(grids[1], second, (1, 1), (h, w))
    cur = np.asarray(current, dtype=np.int64)
    older = median_field(second)
    older_bits = weight * vector_bits(second - older)

    def paired_cost(trial: np.ndarray) -> np.ndarray:
        pair = (one + compensate(grids[1], trial, (1, 1), (h, w)) + 1) >> 1
        return _block_sad(cur, pair) + weight * vector_bits(trial - older)

    paired, average = _refine(second, _block_sad(cur, (one + two + 1) >> 1) + older_bits, paired_cost)
    if intra:
        newer_bits = weight * vector_bits(first - median_field(first))
        costs = [_block_sad(cur, one) + newer_bits, _block_sad(cur, two) + older_bits,
                 average + newer_bits, _block_sad(cur, pixelpred.med_prediction(cur)) + penalty]
    else:
        costs = [_block_sad(cur, one), _block_sad(cur, two) + older_bits, average]
    modes = np.argmin(np.stack(costs), axis=0)
    return modes, first, np.where((modes == 2)[..., None], paired, second)


def side_bytes(side: tuple[np.ndarray, np.ndarray, np.ndarray], intra: bool = False) -> bytes:
    """(modes, first, second) -> SIDE_BYTES_PER_BLOCK bytes per block: the modes (0x80 + mode) in
    raster order, then the vectors into the previous frame, then those into the one before
    (vector_bytes; a vector its block's mode does not use stores its prediction: with mc-temporal
    the vector into the one before in mode 0; with mc-intra (`intra`) every vector a mode leaves
    unused, so also the previous frame's in modes 1 and 3 and the one before's in mode 3)."""
    modes, first, second = side
    first_used = ((modes == 0) | (modes == 2)) if intra else None
    second_used = ((modes == 1) | (modes == 2)) if intra else modes != 0
    return ((modes + 128).astype(np.uint8).tobytes() + vector_bytes(first, used=first_used)
            + vector_bytes(second, used=second_used))


def read_side(data: bytes, rows: int, cols: int, intra: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of side_bytes for any bytes of the right length: a mode byte b means (b - 128) mod
    3 (mod 4 with `intra`)."""
    n = rows * cols
    count = len(INTRA_MODES) if intra else len(MODES)
    modes = np.mod(np.frombuffer(data, dtype=np.uint8, count=n).astype(np.int64) - 128, count)
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
