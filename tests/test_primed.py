"""kv-primed/1: independent segments in striped batches, each after the first batch primed with the
tokens before it (compress/core/container.py batch_members, coder.prime_grid, the engine's loops)."""

from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from compress.core import compact, container, online, stepper
from compress.core.errors import ContainerError, InputError
from compress.core.segments import prime_grid

GOLDEN = Path(__file__).resolve().parent / "golden"
MODEL = str(GOLDEN / "tiny-llama")
PRIME = stepper.PRIME[stepper.PRIMED]
# text.bin in 15 segments of at most 10 tokens (context 107 = 1 + 96 + 10), 3 batches of 5
PRIMED = dict(context=PRIME + 11, batch=5, threads=1, dtype="float32", stepper_kind=stepper.PRIMED,
              allow_stored=False)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3000), st.integers(1, 300))
def test_striped_batches_hold_every_segment_once_after_its_predecessor(n, batch):
    striped = container.batch_members(n, batch, striped=True)
    contiguous = container.batch_members(n, batch)
    assert [len(r) for r in striped] == [len(r) for r in contiguous]  # the same row counts
    assert sorted(k for rows in striped for k in rows) == list(range(n))
    batch_of = {k: b for b, rows in enumerate(striped) for k in rows}
    for b, rows in enumerate(striped):
        assert list(rows) == sorted(rows)
        if b:  # every predecessor is coded in an earlier batch: both ends know it
            assert all(batch_of[k - 1] < b for k in rows)


def test_prime_grid_keeps_the_last_tokens_and_pads_on_the_left():
    grid = prime_grid(1, [np.arange(10, 20), np.array([7, 8])], 4)
    assert grid.tolist() == [[1, 16, 17, 18, 19], [1, 1, 1, 7, 8]]


def test_a_primed_minibatch_codes_the_segment_after_its_prime():
    import torch

    tuner = online.Tuner(torch.nn.Linear(2, 2), online.ADAM3, prefix_id=1)
    primes = prime_grid(1, [np.array([5, 6, 7])], 3)
    inputs, targets = tuner._minibatch([np.array([20, 21, 22])], primes)
    assert inputs.tolist() == [[1, 5, 6, 7, 20, 21]]
    assert targets.tolist() == [[-100, -100, -100, 20, 21, 22]]


@pytest.fixture(scope="module")
def text():
    return (GOLDEN / "text.bin").read_bytes()


@pytest.mark.parametrize("tune", [None, online.ADAM3])
def test_primed_round_trip_and_its_header(text, tune):
    from compress.core.engine import Compressor

    c = Compressor(MODEL, tune=tune, **PRIMED)
    blob = c.compress(text)
    header = container.read_header(blob)
    assert header["stepper"] == stepper.PRIMED and header.get("tune") == tune
    assert max(header["segments"]) == PRIMED["context"] - 1 - PRIME
    assert len(container.header_members(header)) == 3
    assert compact.encode(header) is not None  # the compact form says it all
    assert Compressor(MODEL, **PRIMED).decompress(blob) == text


def test_primes_change_the_bits_of_later_batches_only(text):
    """Batch 0 has no prime: it codes as kv-growing/2 would code those segments; batches 1-2 are
    primed, so their streams differ from the same segments coded cold."""
    from compress.core import coder
    from compress.core.engine import Compressor

    c = Compressor(MODEL, tune=None, **PRIMED)
    opened = container.unpack(c.compress(text))
    lm = c.loaded(dtype="float32")
    symbolizer = c.frontend("text").symbolizer(lm.tokenizer, lm.model.config.vocab_size)
    units = symbolizer.encode_units(text)
    segs = np.split(np.concatenate(units), np.cumsum(opened.header["segments"])[:-1])
    for b, rows in enumerate(container.header_members(opened.header)):
        cold, _ = coder.encode_batch(lm.model, [segs[k] for k in rows], opened.header["prefix_id"],
                                     stepper_kind=stepper.PRIMED)
        assert np.array_equal(cold, opened.streams[b]) == (b == 0)


# adam/7 parts from adam/6 at the fourth batch learnt (learnt twice, not once): under the other golden
# files' 3 batches of 5 the two would code alike, so its golden file has batches of 2 (8 batches)
@pytest.mark.parametrize("name, tune, batch", [("text-primed-tuned3", online.ADAM3, 5),
                                               ("text-primed-tuned4", online.ADAM4, 5),
                                               ("text-primed-tuned5", online.ADAM5, 5),
                                               ("text-primed-tuned6", online.ADAM6, 5),
                                               ("text-primed-tuned7", online.ADAM7, 2)])
def test_golden_primed_container_decodes_and_is_reproduced(text, name, tune, batch):
    """text.bin under kv-primed/1 and adam/3, 4, 5, 6 or 7 (tests/golden/<name>.lmc): old
    containers of each version must keep decoding, and the encoder must keep writing them."""
    from compress.core.engine import Compressor

    blob = (GOLDEN / f"{name}.lmc").read_bytes()
    golden = container.unpack(blob)
    assert golden.header["stepper"] == stepper.PRIMED and golden.header["tune"] == tune
    assert golden.header["batch"] == batch
    assert Compressor(MODEL, **PRIMED).decompress(blob, model=MODEL) == text
    fresh = container.unpack(Compressor(MODEL, tune=tune, **{**PRIMED, "batch": batch}).compress(text))
    assert all(np.array_equal(a, b) for a, b in zip(fresh.streams, golden.streams, strict=True))
    for key in ("segments", "batch_crc32", "batch", "tune", "stepper", "context"):
        assert fresh.header[key] == golden.header[key]


@pytest.mark.parametrize("older, newer, same", [(3, 4, 1), (4, 5, 2), (5, 6, 2)])
def test_tuning_versions_code_the_same_first_batches_and_differ_after_them(older, newer, same):
    """The loaded weights code batch 0 under every version; adam/5 and adam/6 take adam/4's and
    adam/5's steps on batch 0, so batch 1 is coded alike too, and the batches after differ."""
    a, b = (container.unpack((GOLDEN / f"text-primed-tuned{n}.lmc").read_bytes()) for n in (older, newer))
    assert all(np.array_equal(a.streams[k], b.streams[k]) for k in range(same))
    assert not all(np.array_equal(x, y) for x, y in zip(a.streams[same:], b.streams[same:], strict=True))


def test_adam7_codes_like_adam6_until_their_steps_part(text):
    """Batches of 2 (8 batches): both versions learn batches 0-2 twice; adam/7 learns batches 3 and
    4 twice too, where adam/6 learns them once, so batches 0-3 are coded alike and batch 4 on differ."""
    from compress.core.engine import Compressor

    adam6 = container.unpack(Compressor(MODEL, tune=online.ADAM6, **{**PRIMED, "batch": 2}).compress(text))
    adam7 = container.unpack((GOLDEN / "text-primed-tuned7.lmc").read_bytes())
    assert len(adam7.streams) == 8
    assert all(np.array_equal(adam6.streams[k], adam7.streams[k]) for k in range(4))
    assert not any(np.array_equal(x, y) for x, y in zip(adam6.streams[4:], adam7.streams[4:], strict=True))


def test_the_encoder_refuses_a_context_the_prime_fills(text):
    from compress.core.engine import Compressor

    with pytest.raises(InputError, match=f"kv-primed/1 primes {PRIME} tokens"):
        Compressor(MODEL, **{**PRIMED, "context": PRIME + 3}).compress(text)


def test_a_header_whose_segments_do_not_fit_beside_the_prime_is_refused(text):
    from compress.core.engine import Compressor

    blob = Compressor(MODEL, tune=None, **PRIMED).compress(text)
    header = container.read_header(blob)
    too_small = {**header, "context": PRIME + 2}  # room for 1 token a segment: the table has 10
    with pytest.raises(ContainerError, match="longer than the context"):
        container.check_header(too_small)
    with pytest.raises(ContainerError, match="prime leaves no room"):
        container.check_header({**header, "context": PRIME})


def test_a_damaged_primed_batch_names_its_striped_segments(text):
    from compress.core.engine import Compressor
    from compress.core.errors import ChecksumError

    c = Compressor(MODEL, tune=None, **PRIMED)
    opened = container.unpack(c.compress(text))
    header = {**opened.header, "batch_crc32": [*opened.header["batch_crc32"][:2],
                                               opened.header["batch_crc32"][2] ^ 1]}
    blob = container.pack(header, opened.streams)
    with pytest.raises(ChecksumError, match=r"batch 2 \(segments 2-\d+ in steps of 3\)"):
        c.decompress(blob)


def test_read_frame_of_a_primed_video_container(tiny_model_dir):
    from compress.core.engine import Compressor
    from compress.media import video
    from test_video import y4m

    c = Compressor(str(tiny_model_dir), context=PRIME + 9, batch=2, threads=1, stepper_kind=stepper.PRIMED,
                   allow_stored=False)
    data, raster = y4m(6, 4, "420jpeg", 5, seed=3)
    blob = c.compress(data, modality="video", group=2, predictor="med-temporal")
    assert container.read_header(blob)["stepper"] == stepper.PRIMED
    for k in range(5):
        assert video.read_frame(c, blob, k) == raster[k]
    assert c.decompress(blob) == data


def test_kv_primed_has_a_compact_id_and_a_command_line_choice():
    """--stepper offers every kind this lmcompress codes with but kv-static/1, which only old
    containers name (the CLI's list is read from compact.STEPPERS so that it stays torch-free)."""
    from compress.cli import build_parser

    assert compact.STEPPERS.index(stepper.PRIMED) == 3
    choice = next(a for a in build_parser()._actions if a.dest == "stepper")
    assert stepper.PRIMED in choice.choices
    assert sorted(choice.choices) == sorted(set(stepper.KINDS) - {stepper.STATIC})
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--stepper", stepper.STATIC, "x"])


def test_images_default_to_primed_segments_where_the_context_holds_them(tiny_model_dir):
    """The image front end's kv-primed/1 needs segments at least as long as their prime: at a
    shorter context (a small model's) it gives way to kv-growing/2; asked for by name it stays."""
    from compress.core.engine import Compressor
    from test_image import make_array, png_bytes

    data = png_bytes("RGB", make_array("RGB", 40, 30, 2))  # 3,600 payload bytes

    def coded(**kw):
        c = Compressor(str(tiny_model_dir), threads=1, allow_stored=False, batch=4, **kw)
        blob = c.compress(data, modality="image")
        assert c.decompress(blob) == data
        return container.read_header(blob)

    header = coded(context=2 * PRIME + 1)
    assert (header["stepper"], header["tune"]) == (stepper.PRIMED, online.ADAM7)
    assert len(header["batches"]) > 2
    assert coded(context=2 * PRIME)["stepper"] == stepper.GROWING
    assert coded(context=PRIME + 4, stepper_kind=stepper.PRIMED)["stepper"] == stepper.PRIMED


def test_scoring_pass_measures_the_primed_layout(text):
    """Untuned, the parallel scoring pass runs the coder's primes (none in batch 0): its bits equal
    the coder's ideal bits up to float rounding, and differ from the same cut scored cold."""
    from compress.core.engine import Compressor

    c = Compressor(MODEL, tune=None, **PRIMED)
    c.compress(text)
    score = c.score(text)
    assert score.tokens == c.last.tokens and score.segments == 15
    assert abs(score.bits / c.last.ideal_bits - 1) < 2e-3
    cold = Compressor(MODEL, tune=None, **{**PRIMED, "stepper_kind": stepper.GROWING,
                                           "context": PRIMED["context"] - PRIME})
    assert cold.score(text).bits != score.bits  # the tiny random model: primes move little
