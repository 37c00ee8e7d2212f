"""Video front end: y4m byte-exact round trips, frame-aligned segments, per-frame random access."""

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from compress.core import container, frontends, segments
from compress.core.errors import ContainerError, InputError
from compress.media import motion, video

param = st.text(alphabet="ABCXYZabc0123456789:=", min_size=1, max_size=6)


def y4m(w, h, colour, frames, seed=0, extra=" F25:1 Ip A1:1", frame_params=None):
    planes = video.COLOURSPACES[colour or "420jpeg"]
    size = sum(-(-w // sx) * -(-h // sy) for sx, sy in planes)
    rng = np.random.default_rng(seed)
    tag = f" C{colour}" if colour else ""
    out = f"YUV4MPEG2 W{w} H{h}{extra}{tag}\n".encode()
    raster = []
    for k in range(frames):
        line = "FRAME" + (frame_params[k] if frame_params else "")
        raster.append(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
        out += line.encode() + b"\n" + raster[-1]
    return out, raster


@settings(max_examples=80, deadline=None)
@given(w=st.integers(1, 9), h=st.integers(1, 9), colour=st.sampled_from([None, *video.COLOURSPACES]),
       frames=st.integers(0, 4), seed=st.integers(0, 99),
       params=st.lists(st.lists(param, max_size=2).map(lambda ps: "".join(" " + p for p in ps)),
                       min_size=4, max_size=4),
       extra=st.sampled_from(["", " F30000:1001 It A128:117 XYSCSS=420MPEG2", " Ib"]),
       order=st.sampled_from(video.ORDERS), group=st.integers(1, 3))
def test_y4m_round_trip_byte_exact(w, h, colour, frames, seed, params, extra, order, group):
    data, raster = y4m(w, h, colour, frames, seed, extra, params)
    fe = frontends.get("video", order=order, group=group)
    payload, extras = fe.split(data)
    assert extras["frames"] == frames and extras["order"] == order
    assert fe.join(payload, extras) == data
    assert sorted(payload) == sorted(b"".join(raster))
    if order == "frames":
        assert payload == b"".join(raster)  # planes Y, U, V per frame, rows concatenated
        for k in range(frames):
            start, end = video.unit_range(extras, k)
            assert payload[start:end] == raster[k]


def test_temporal_order_puts_same_rows_together():
    data, raster = y4m(2, 2, "mono", 3)
    payload, extras = frontends.get("video", order="temporal", group=2).split(data)
    f = [np.frombuffer(r, np.uint8).reshape(2, 2) for r in raster]
    want = np.concatenate([f[0][0], f[1][0], f[0][1], f[1][1], f[2][0], f[2][1]]).tobytes()
    assert payload == want
    assert list(frontends.get("video").segment_breaks(extras)) == [8]


def test_plane_sizes_for_odd_dimensions():
    _, _, _, planes = video.parse_header(b"YUV4MPEG2 W5 H3 C420mpeg2")
    assert planes == [(5, 3), (3, 2), (3, 2)]
    assert video.parse_header(b"YUV4MPEG2 W5 H3 C422")[3] == [(5, 3), (3, 3), (3, 3)]
    assert video.parse_header(b"YUV4MPEG2 W5 H3 Cmono")[3] == [(5, 3)]


def test_segment_cut_respects_breaks():
    units = [[i] for i in range(20)]
    segs = segments.cut(units, 6, breaks=[7, 14])
    assert [len(s) for s in segs] == [5, 2, 5, 2, 5, 1]
    assert np.concatenate(segs).tolist() == list(range(20))


def test_errors_are_clear():
    fe = frontends.get("video")
    good, _ = y4m(4, 4, "420jpeg", 2)
    cases = {
        b"": "empty",
        b"RIFF....": "not a YUV4MPEG2",
        b"YUV4MPEG2 W4 H4 C420p10\nFRAME\n" + b"\x00" * 48: "colourspace C420p10",
        b"YUV4MPEG2 W4 H4 C411\n": "colourspace C411",
        b"YUV4MPEG2 W4 C420\n": "W/H",
        b"YUV4MPEG2 W4 H4": "no end of line",
        good[:-1]: "truncated y4m: frame 1 has 23 of 24 bytes",
        good + b"FRAMX\n": "does not start with a FRAME line",
    }
    for data, words in cases.items():
        with pytest.raises(InputError, match=words):
            fe.split(data)
    with pytest.raises(InputError, match="order"):
        frontends.get("video", order="zigzag")


def test_suffix_picks_video():
    assert frontends.guess("clip.y4m") == "video"


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(w=st.integers(1, 6), h=st.integers(1, 5), colour=st.sampled_from(["420jpeg", "444", "mono"]),
       frames=st.integers(1, 3))
def test_engine_round_trip_and_frame_aligned_segments(independent_compressor, tiny_compressor,
                                                      w, h, colour, frames):
    data, raster = y4m(w, h, colour, frames, frame_params=[" Ixyz", "", " XA=1"])
    blob = independent_compressor.compress(data, modality="video")
    header = container.read_header(blob)
    ends = set(np.cumsum(header["segments"]).tolist())
    size = header["frontend"]["frame_bytes"]
    assert all(k * size in ends for k in range(1, frames + 1))  # no segment spans two frames
    assert independent_compressor.decompress(blob) == data
    default = tiny_compressor.compress(data, modality="video")  # video's default: independent segments
    assert container.read_header(default)["stepper"] == "kv-growing/2"
    assert tiny_compressor.decompress(default) == data
    from compress.core.engine import Compressor

    asked = Compressor(tiny_compressor.model_spec, context=16, threads=1, stepper_kind="kv-carried/3",
                       allow_stored=False)
    carried = asked.compress(data, modality="video")  # carried context when asked for
    assert container.read_header(carried)["stepper"] == "kv-carried/3"
    assert tiny_compressor.decompress(carried) == data


def _counted_batch_decodes(monkeypatch) -> list:
    """A list that gains an entry each time a batch of independent segments is decoded."""
    from compress.core import coder

    calls = []
    real = coder.decode_batch

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(coder, "decode_batch", counting)
    return calls


@pytest.mark.parametrize("order, predictor", [("frames", "none"), ("temporal", "none"),
                                              ("frames", "med"), ("frames", "med-temporal"),
                                              ("temporal", "med-temporal"), ("frames", "mc-temporal")])
def test_read_frame_decodes_only_its_batches(tiny_model_dir, monkeypatch, order, predictor):
    """Random access is the independent-segment option (stepper kv-growing/2) without online tuning."""
    from compress.core.engine import Compressor
    from compress.core.stepper import GROWING

    tiny_compressor = Compressor(str(tiny_model_dir), context=16, batch=4, threads=1, stepper_kind=GROWING,
                                 tune=None, allow_stored=False)
    data, raster = y4m(6, 4, "420jpeg", 5, seed=3)  # 36-byte frames, context 16: 3 segments each
    blob = tiny_compressor.compress(data, modality="video", order=order, group=2, predictor=predictor)
    calls = _counted_batch_decodes(monkeypatch)
    header = container.read_header(blob)
    n_batches = len(segments.layout(len(header["segments"]), header["batch"]))
    for k in range(5):
        calls.clear()
        assert video.read_frame(tiny_compressor, blob, k) == raster[k]
        assert len(calls) < n_batches
    with pytest.raises(InputError, match="out of range"):
        video.read_frame(tiny_compressor, blob, 5)


def test_read_frame_of_a_tuned_container_decodes_the_batches_before_it(independent_compressor, monkeypatch):
    """With online tuning (video's default) batch b is coded with weights tuned on batches 0..b-1,
    so a frame costs every batch up to its own, and still comes back exact."""
    data, raster = y4m(6, 4, "420jpeg", 5, seed=3)
    blob = independent_compressor.compress(data, modality="video", group=2, predictor="med-temporal")
    header = container.read_header(blob)
    assert header["tune"] == "adam/1"
    calls = _counted_batch_decodes(monkeypatch)
    ranges = segments.layout(len(header["segments"]), header["batch"])
    assert len(ranges) > 2
    ends = np.cumsum(header["segments"])
    for k in range(5):
        calls.clear()
        assert video.read_frame(independent_compressor, blob, k) == raster[k]
        last_byte = (k // 2 + 1) * 2 * header["frontend"]["frame_bytes"] - 1  # the end of k's group
        last_segment = int(np.searchsorted(ends, min(last_byte, ends[-1] - 1), side="right"))
        assert len(calls) == next(b for b, (s0, s1) in enumerate(ranges) if s0 <= last_segment < s1) + 1
    assert independent_compressor.decompress(blob) == data


@pytest.mark.parametrize("rows", [1, 3])
def test_read_frame_of_a_carried_container(tiny_model_dir, rows):
    """Carried context (the default) has no frame-level random access: read_frame decodes the one
    batch through the same decoding loop and still returns the frame."""
    from compress.core.engine import Compressor

    c = Compressor(str(tiny_model_dir), context=16, threads=1, rows=rows, keep=6, allow_stored=False)
    data, raster = y4m(6, 4, "420jpeg", 4, seed=5)
    blob = c.compress(data, modality="video", predictor="med")
    assert len(container.read_header(blob)["batches"]) == 1
    for k in range(4):
        assert video.read_frame(c, blob, k) == raster[k]


def test_read_frame_of_an_old_stepper_container(tiny_model_dir, tiny_compressor, monkeypatch):
    """A container of the first stepper (kv-static/1) keeps its random access: read_frame runs the
    engine's one decoding loop with the stepper the header names, not the reader's own default
    (tiny_compressor makes kv-carried/3 containers)."""
    from compress.core import coder
    from compress.core.engine import Compressor
    from compress.core.stepper import STATIC

    old = Compressor(str(tiny_model_dir), context=16, batch=2, threads=1, stepper_kind=STATIC, tune=None,
                     allow_stored=False)
    data, raster = y4m(6, 4, "420jpeg", 4, seed=7)  # 36-byte frames: 3 segments each, 2 per batch
    blob = old.compress(data, modality="video", predictor="med")
    header = container.read_header(blob)
    assert container.header_stepper(header) == "kv-static/1"
    assert len(header["batches"]) > 2
    kinds = []
    real = coder.decode_batch

    def spying(*args, **kwargs):
        kinds.append(kwargs["stepper_kind"])
        return real(*args, **kwargs)

    monkeypatch.setattr(coder, "decode_batch", spying)
    for k in range(4):
        kinds.clear()
        assert video.read_frame(tiny_compressor, blob, k) == raster[k]
        assert kinds and set(kinds) == {"kv-static/1"} and len(kinds) < len(header["batches"])
    assert tiny_compressor.decompress(blob) == data


@settings(max_examples=60, deadline=None)
@given(w=st.integers(1, 9), h=st.integers(1, 9), colour=st.sampled_from([None, *video.COLOURSPACES]),
       frames=st.integers(0, 5), seed=st.integers(0, 99), order=st.sampled_from(video.ORDERS),
       group=st.integers(1, 3), predictor=st.sampled_from(["med", "med-temporal", *video.MOTION_PREDICTORS]))
def test_predictors_round_trip_byte_exact(w, h, colour, frames, seed, order, group, predictor):
    data, raster = y4m(w, h, colour, frames, seed)
    if predictor in video.MOTION_PREDICTORS and order == "temporal":
        with pytest.raises(InputError, match="needs order 'frames'"):
            frontends.get("video", order=order, group=group, predictor=predictor)
        return
    payload, extras = frontends.get("video", order=order, group=group, predictor=predictor).split(data)
    vectors = motion.side_bytes_per_frame(h, w) if predictor in video.MOTION_PREDICTORS else 0
    predicted = frames - -(-frames // group) if predictor in video.MOTION_PREDICTORS else 0
    assert extras["predictor"] == predictor
    assert len(payload) == len(b"".join(raster)) + predicted * vectors
    assert frontends.get("video").join(payload, extras) == data  # the decoder knows only the header
    header = {"payload_length": len(payload), "original_length": len(data)}
    video.check_extras(extras, header)
    if predictor != "med" and frames:  # the group is the unit of random access
        first = (frames - 1) // group * group
        assert video.unit_range(extras, frames - 1)[0] == first * extras["frame_bytes"] + (
            first - first // group) * vectors
        assert list(frontends.get("video").segment_breaks(extras)) == [
            video.unit_range(extras, k)[0] for k in range(group, frames, group)]


def _moving_scene(w, h, frames, step, seed=5):
    """A textured 4:2:0 picture sliding by `step` = (dy, dx) whole pixels a frame (edges clamped)."""
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 256, (h + 8 * frames, w + 8 * frames), dtype=np.uint8)
    out = b"YUV4MPEG2 W%d H%d C420jpeg\n" % (w, h)
    for k in range(frames):
        y0, x0 = 4 * frames - step[0] * k, 4 * frames - step[1] * k
        luma = big[y0 : y0 + h, x0 : x0 + w]
        chroma = np.full((-(-h // 2)) * (-(-w // 2)), 128, dtype=np.uint8)
        out += b"FRAME\n" + luma.tobytes() + chroma.tobytes() * 2
    return out


def test_motion_compensation_finds_a_whole_pixel_shift():
    """A picture moving 2 pixels down and 3 left a frame: every block's vector into the previous
    frame is that shift in quarter pixels, (-8, +12) (the pixel came from 2 rows up and 3 columns
    right), and into the frame before it twice that; blocks whose sources lie inside both
    references predict exactly (residuals 0x80) and keep the first mode, which wins ties."""
    w, h = 32, 24
    data = _moving_scene(w, h, 3, (2, -3))
    payload, extras = frontends.get("video", predictor="mc-temporal", group=3).split(data)
    size, side = extras["frame_bytes"], motion.side_bytes_per_frame(h, w)
    rows, cols = motion.blocks(h, w)
    for k in (1, 2):
        start = size + (k - 1) * (side + size)
        modes, first, second = motion.read_side(payload[start : start + side], rows, cols)
        assert (first == (-8, 12)).all()
        n = rows * cols
        assert set(payload[start + n + 2 : start + 3 * n]) == {0x80}  # each vector = its median prediction
        assert (modes[1:, :3] == 0).all()
        luma = np.frombuffer(payload, np.uint8, w * h, start + side).reshape(h, w)
        assert set(luma[8:, :24].ravel().tolist()) == {0x80}
        assert set(luma[:2].ravel().tolist()) != {0x80}
    lumas = [np.frombuffer(frame[6:], np.uint8, w * h).reshape(h, w) for frame in data.split(b"FRAME")[1:]]
    assert (motion.search(motion.upsample(lumas[0]), lumas[2])[1:, :3] == (-16, 24)).all()  # inside: twice the shift
    assert frontends.get("video").join(payload, extras) == data


def test_two_references_average_away_noise():
    """The same still picture with independent noise in each frame: averaging the two references
    (mode 2) predicts better than either alone, so most blocks of the third frame choose it."""
    rng = np.random.default_rng(8)
    w, h = 32, 32
    still = rng.integers(40, 216, (h, w))
    out = b"YUV4MPEG2 W32 H32 Cmono\n"
    for _ in range(3):
        out += b"FRAME\n" + (still + rng.integers(-12, 13, (h, w))).astype(np.uint8).tobytes()
    payload, extras = frontends.get("video", predictor="mc-temporal", group=3).split(out)
    side = motion.side_bytes_per_frame(h, w)
    start = 2 * w * h + side
    modes, _, _ = motion.read_side(payload[start : start + side], *motion.blocks(h, w))
    assert (modes == 2).mean() > 0.5
    assert frontends.get("video").join(payload, extras) == out


def test_vector_bits_are_signed_exp_golomb_lengths():
    d = np.array([[0, 0], [1, 0], [-1, 0], [2, -3], [4, 0], [7, -8]])
    assert motion.vector_bits(d).tolist() == [2, 4, 4, 10, 8, 16]


@pytest.mark.parametrize("weight", sorted({motion.RATE_WEIGHT, 2}))
def test_rate_aware_choice_keeps_the_predicted_vectors_where_motion_is_noise(weight):
    """A smooth still picture under fresh noise in every frame: by SAD alone many blocks' vectors
    into the previous frame fit the noise (a quarter-pel shift of a smooth picture costs little);
    `choose` weighs the vector's bits too, so far more of its vector bytes are 0x80 (the
    neighbours' median), and its SAD plus vector bits over the three frames is no worse than the
    SAD-only fields'. (Each rate pass weighs a vector against the medians of the pass before, not a
    joint optimum, so one frame alone may come out a little worse: at weight 1, seed 2, 0.1%.)
    The default weight and the heavier 2 both."""
    h, w = 48, 64
    yy, xx = np.mgrid[0:h, 0:w]
    still = np.rint(128 + 40 * np.sin(xx / 5.0) * np.cos(yy / 7.0))
    kept = wandered = 0
    chosen_cost = sad_only_cost = 0
    for seed in range(3):
        rng = np.random.default_rng(seed)
        frames = [np.clip(still + rng.integers(-10, 11, (h, w)), 0, 255).astype(np.int64) for _ in range(3)]
        grids = (motion.upsample(frames[1]), motion.upsample(frames[0]))
        first = motion.choose(grids, frames[2], weight=weight)[1]
        sad_only = motion.search(grids[0], frames[2])
        kept += motion.vector_bytes(first).count(0x80)
        wandered += motion.vector_bytes(sad_only).count(0x80)

        def cost(vectors, frame=frames[2], grid=grids[0]):
            sad = np.abs(frame - motion.compensate(grid, vectors, (1, 1), (h, w))).sum()
            return sad + weight * motion.vector_bits(vectors - motion.median_field(vectors)).sum()

        chosen_cost += cost(first)
        sad_only_cost += cost(sad_only)
    assert chosen_cost <= sad_only_cost
    assert kept > 1.5 * wandered


def test_hostile_mode_bytes_map_onto_the_three_modes():
    rows, cols = 2, 3
    data = bytes(range(250, 256)) + bytes([0x80]) * 24
    modes, first, second = motion.read_side(data, rows, cols)
    assert modes.ravel().tolist() == [(b - 128) % 3 for b in range(250, 256)]
    assert not first.any() and not second.any()


def test_hostile_mode_bytes_map_onto_the_four_intra_modes():
    rows, cols = 2, 4
    data = bytes(range(248, 256)) + bytes([0x80]) * 32
    modes, first, second = motion.read_side(data, rows, cols, intra=True)
    assert modes.ravel().tolist() == [(b - 128) % 4 for b in range(248, 256)]
    assert not first.any() and not second.any()


def test_mc_intra_stores_only_the_vectors_a_mode_uses():
    """mc-intra: the vector into the previous frame only in modes 0 and 2, the one into the frame
    before only in modes 1 and 2; an unused one is stored as its prediction (0x80 0x80), and reading
    gives back every used vector (an unused one reads as its prediction)."""
    rng = np.random.default_rng(3)
    modes = np.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    first, second = rng.integers(-40, 41, (2, 2, 4, 2))
    data = motion.side_bytes((modes, first, second), intra=True)
    n = modes.size
    assert data[:n] == bytes(128 + m for m in modes.ravel())
    back_modes, back_first, back_second = motion.read_side(data, 2, 4, intra=True)
    assert np.array_equal(back_modes, modes)
    used_first, used_second = np.isin(modes, (0, 2)), np.isin(modes, (1, 2))
    assert np.array_equal(back_first[used_first], first[used_first])
    assert np.array_equal(back_second[used_second], second[used_second])
    first_bytes = np.frombuffer(data[n : 3 * n], np.uint8).reshape(2, 4, 2)
    second_bytes = np.frombuffer(data[3 * n :], np.uint8).reshape(2, 4, 2)
    assert (first_bytes[~used_first] == 0x80).all() and (second_bytes[~used_second] == 0x80).all()


def _uncovering_scene(w=48, h=32, frames=3):
    """Textured noise that stays still, except a 16x16 square that turns, in the last frame, into
    a smooth ramp neither reference holds: intra's case (rising down, falling right, so that MED
    takes W + N - NW, exact on a plane)."""
    rng = np.random.default_rng(11)
    still = rng.integers(40, 200, (h, w), dtype=np.uint8)
    ramp = (100 + 3 * np.arange(16)[:, None] - 2 * np.arange(16)[None, :]).astype(np.uint8)
    chroma = bytes([128]) * (2 * (h // 2) * (w // 2))
    out = b"YUV4MPEG2 W%d H%d C420jpeg\n" % (w, h)
    for k in range(frames):
        luma = still.copy()
        if k == frames - 1:
            luma[8:24, 16:32] = ramp
        out += b"FRAME\n" + luma.tobytes() + chroma
    return out


def test_intra_blocks_code_what_no_reference_holds():
    """The ramp's four blocks take the intra mode and their residuals are MED's on a ramp (0x80
    inside, where W, N and NW are all ramp); every other block keeps a reference (exact, 0x80);
    the round trip is exact. mc-temporal, with no intra mode, pays for the ramp."""
    data = _uncovering_scene()
    w, h = 48, 32
    payload, extras = frontends.get("video", predictor="mc-intra", group=3).split(data)
    assert frontends.get("video").join(payload, extras) == data
    frame, side_size = extras["frame_bytes"], motion.side_bytes_per_frame(h, w)
    last = payload[frame + (side_size + frame) :]
    modes = np.frombuffer(last[: 4 * 6], np.uint8).reshape(4, 6) - 128
    assert (modes[1:3, 2:4] == motion.INTRA).all()
    assert (np.delete(modes.ravel(), [8, 9, 14, 15]) != motion.INTRA).all()
    luma = np.frombuffer(last[side_size : side_size + w * h], np.uint8).reshape(h, w)
    assert (luma[9:24, 17:32] == 0x80).all()
    assert (np.delete(luma, np.s_[8:24], axis=0) == 0x80).all()
    plain, _ = frontends.get("video", predictor="mc-temporal", group=3).split(data)
    plain_luma = np.frombuffer(plain[2 * frame + 2 * side_size :][: w * h], np.uint8).reshape(h, w)
    assert (plain_luma[9:24, 17:32] != 0x80).sum() > 100


def test_motion_compensation_of_a_still_scene_is_0x80():
    one = np.random.default_rng(4).integers(0, 256, 16 * 8 * 3 // 2, dtype=np.uint8).tobytes()
    data = b"YUV4MPEG2 W16 H8 C420jpeg\n" + (b"FRAME\n" + one) * 3
    payload, extras = frontends.get("video", predictor="mc-temporal", group=3).split(data)
    intra, _ = frontends.get("video", predictor="med").split(data)
    assert payload[: len(one)] == intra[: len(one)]
    assert set(payload[len(one) :]) == {0x80}  # zero vectors, zero residuals


@settings(max_examples=30, deadline=None)
@given(w=st.integers(1, 20), h=st.integers(1, 20), colour=st.sampled_from([None, "444", "422", "mono", "444alpha"]),
       frames=st.integers(1, 3), seed=st.integers(0, 99), noise=st.binary(min_size=64, max_size=64),
       predictor=st.sampled_from(video.MOTION_PREDICTORS))
def test_any_payload_of_the_right_length_decodes(w, h, colour, frames, seed, noise, predictor):
    """The decoder never searches: whatever the mode and vector bytes say (hostile ones included),
    every vector is valid and every mode (intra too) decodes, so a payload of the length the header
    gives always joins to a y4m of the stated geometry (the checksum, not the predictor, says
    whether it is the original)."""
    data, _ = y4m(w, h, colour, frames, seed)
    payload, extras = frontends.get("video", predictor=predictor, group=frames).split(data)
    garbled = bytes(b ^ noise[i % 64] for i, b in enumerate(payload))
    out = frontends.get("video").join(garbled, extras)
    assert len(out) == len(data) and out.startswith(extras["header"].encode())


def test_golden_motion_residuals_keep_decoding_and_encoding():
    """tests/golden/video-mc.*: a small moving y4m (40x24, 4:2:0, 4 frames, group 3), its
    mc-temporal payload and the front end's extras as first written. Decoding must give the y4m
    back, and encoding must give the same payload: the search (on this clean shift the rate-aware
    search of 2026-12-04 chose what the SAD search did), the vector coding, the interpolation and
    the residuals are all pinned. A deliberate change to the decoder needs a new predictor name
    and a golden beside this one; the search is the encoder's alone (any choice decodes), so a
    change to it that moves this payload needs a new encoding golden, not a new name."""
    import json
    from pathlib import Path

    golden = Path(__file__).resolve().parent / "golden"
    data = (golden / "video-mc.y4m").read_bytes()
    payload = (golden / "video-mc.payload").read_bytes()
    extras = json.loads((golden / "video-mc.extras.json").read_text())
    assert frontends.get("video").join(payload, extras) == data
    assert frontends.get("video", predictor="mc-temporal", group=3).split(data) == (payload, extras)


def test_golden_intra_residuals_keep_decoding_and_encoding():
    """tests/golden/video-mc-intra.*: a small moving y4m (40x24, 4:2:0, 4 frames, group 3) whose
    third frame has a ramp neither reference holds (two intra blocks), its mc-intra payload and
    the extras as first written (2026-12-04). Pins the intra mode's decoding (MED from the frame's
    own pixels, after the motion-compensated ones), the vectors stored only where a mode uses them,
    and the encoder's choice; the same rules as the mc-temporal golden above."""
    import json
    from pathlib import Path

    golden = Path(__file__).resolve().parent / "golden"
    data = (golden / "video-mc-intra.y4m").read_bytes()
    payload = (golden / "video-mc-intra.payload").read_bytes()
    extras = json.loads((golden / "video-mc-intra.extras.json").read_text())
    frame, side = extras["frame_bytes"], motion.side_bytes_per_frame(24, 40)
    modes = np.frombuffer(payload, np.uint8, 15, 2 * frame + side) - 128
    assert (modes == motion.INTRA).sum() == 2
    assert frontends.get("video").join(payload, extras) == data
    assert frontends.get("video", predictor="mc-intra", group=3).split(data) == (payload, extras)


@pytest.mark.parametrize("predictor", video.MOTION_PREDICTORS)
def test_motion_predictor_refuses_temporal_order_in_the_header(predictor):
    data, _ = y4m(8, 8, None, 3)
    payload, extras = frontends.get("video", predictor=predictor, group=2).split(data)
    header = {"payload_length": len(payload), "original_length": len(data)}
    video.check_extras(extras, header)
    with pytest.raises(ContainerError, match="needs order frames"):
        video.check_extras({**extras, "order": "temporal"}, header)
    with pytest.raises(ContainerError, match="payload length"):
        video.check_extras(extras, {**header, "payload_length": len(payload) - 1})
    with pytest.raises(ContainerError, match="payload length"):
        frontends.get("video").join(payload[:-1], extras)


def test_temporal_prediction_of_a_still_scene_is_0x80():
    """A frame repeated: every frame after a group's first has residuals 0x80 (nothing new);
    intra MED does not see that."""
    one = np.random.default_rng(4).integers(0, 256, 8 * 6 * 3 // 2, dtype=np.uint8).tobytes()
    data = b"YUV4MPEG2 W8 H6 C420jpeg\n" + (b"FRAME\n" + one) * 4
    size = len(one)
    temporal, _ = frontends.get("video", predictor="med-temporal", group=2).split(data)
    intra, _ = frontends.get("video", predictor="med").split(data)
    assert set(temporal[size : 2 * size]) == {0x80} and set(temporal[3 * size :]) == {0x80}
    assert temporal[2 * size : 3 * size] == intra[:size]  # a new group starts intra
    assert set(intra[size : 2 * size]) != {0x80}


def test_unknown_predictor_is_refused():
    with pytest.raises(InputError, match="unknown video predictor"):
        frontends.get("video", predictor="motion")
    data, _ = y4m(4, 4, "mono", 2)
    payload, extras = frontends.get("video", predictor="med").split(data)
    extras["predictor"] = "motion"
    with pytest.raises(ContainerError, match="video predictor"):
        frontends.get("video").join(payload, extras)


def test_motion_references_follow_the_unit_schedule():
    """A unit's first frame has no references, its second uses the previous frame twice (the one
    before lies in the unit before), every later one the previous two; the bench's motion search
    reads the same schedule."""
    assert [video.motion_references(k, 4) for k in range(9)] == [
        None, (1, 1), (1, 2), (1, 2), None, (1, 1), (1, 2), (1, 2), None]
    assert all(video.motion_references(k, 1) is None for k in range(5))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_the_luma_fast_paths_take_the_lookups_values(h, w, seed):
    """motion._per_pixel repeats each block over the luma plane and motion._gather takes flat
    indices: both give what the plain index lookups give, for any plane size (partial blocks at
    the edges) and any vectors, even ones far outside the grid."""
    rng = np.random.default_rng(seed)
    rows, cols = motion.blocks(h, w)
    per_block = rng.integers(-50, 50, (rows, cols, 2))
    ys, xs = np.arange(h) // motion.BLOCK, np.arange(w) // motion.BLOCK
    assert np.array_equal(motion._per_pixel(per_block, (h, w), (1, 1), (h, w)), per_block[ys][:, xs])
    assert np.array_equal(motion._per_pixel(per_block[..., 0], (h, w), (1, 1), (h, w)), per_block[..., 0][ys][:, xs])
    grid = rng.integers(0, 256, (4 * h, 4 * w)).astype(np.uint8)
    vy, vx = (rng.integers(-400, 400, (h, w)) for _ in range(2))
    rows_at = np.clip(4 * np.arange(h)[:, None] + vy, 0, 4 * h - 1)
    cols_at = np.clip(4 * np.arange(w)[None, :] + vx, 0, 4 * w - 1)
    assert np.array_equal(motion._gather(grid, vy, vx), grid[rows_at, cols_at].astype(np.int64))
