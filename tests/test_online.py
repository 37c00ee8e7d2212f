"""Online tuning between batches (compress/core/online.py): exact round trips, the same weights at both
ends, the golden container, and the header rules that keep it decodable."""

from pathlib import Path

import numpy as np
import pytest
import torch

from clirun import lmc
from compress.core import container, online, stepper
from compress.core.engine import Compressor
from compress.core.errors import ContainerError, InputError, MismatchError

GOLDEN = Path(__file__).resolve().parent / "golden"
MODEL = str(GOLDEN / "tiny-llama")
GROWING = dict(context=16, batch=3, threads=1, dtype="float32", stepper_kind=stepper.GROWING,
               allow_stored=False)


def _weights(model) -> bytes:
    return b"".join(p.detach().numpy().tobytes() for p in model.parameters())


@pytest.fixture(scope="module")
def tiny():
    return Compressor(MODEL, **GROWING).loaded(MODEL, "float32")


def test_tuner_trains_a_copy_and_leaves_the_loaded_model_alone(tiny):
    before = _weights(tiny.model)
    tuner = online.Tuner(tiny.model, online.ADAM1, prefix_id=1)
    rng = np.random.default_rng(0)
    pattern = rng.integers(3, 300, size=15)
    segments = [pattern.copy() for _ in range(24)]  # something to learn: one repeated segment

    def loss():
        inputs, targets = tuner._minibatch(segments[:1], None)
        with torch.no_grad():
            logits = tuner.model(input_ids=inputs).logits
        return float(torch.nn.functional.cross_entropy(logits[0], targets[0]))

    first = loss()
    for _ in range(5):
        tuner.learn(segments)
    assert loss() < first
    assert _weights(tiny.model) == before and _weights(tuner.model) != before
    assert all(p.grad is None for p in tuner.model.parameters())


def test_two_tuners_on_the_same_tokens_reach_the_same_bits(tiny):
    """What the decoder relies on: the steps are a function of the tokens alone."""
    rng = np.random.default_rng(1)
    segments = [rng.integers(3, 300, size=int(n)) for n in rng.integers(1, 16, size=40)]
    a, b = (online.Tuner(tiny.model, online.ADAM1, prefix_id=1) for _ in range(2))
    for tuner in (a, b):
        tuner.learn(segments)
        tuner.learn(segments[::-1])
    assert _weights(a.model) == _weights(b.model)


def test_the_tuner_trains_on_every_eighth_segment():
    tuner = online.Tuner(torch.nn.Linear(2, 2), online.ADAM1, prefix_id=1)
    segments = [np.full(3, i) for i in range(17)]
    assert [int(s[0]) for s in tuner.chosen(segments)[0]] == [0, 8, 16]


def test_adam2_trains_on_every_other_segment():
    tuner = online.Tuner(torch.nn.Linear(2, 2), online.ADAM2, prefix_id=1)
    segments = [np.full(3, i) for i in range(7)]
    assert [int(s[0]) for s in tuner.chosen(segments)[0]] == [0, 2, 4, 6]
    assert tuner.optimizer.param_groups[0]["lr"] == 1e-3


def steps_taken(tuner: online.Tuner) -> int:
    """Adam's step count so far (every parameter's state counts the same steps)."""
    return int(next(iter(tuner.optimizer.state.values()))["step"])


def test_adam3_takes_four_passes_over_the_first_batch_and_two_over_later_ones(tiny):
    """adam/2's segments and step size; 9 chosen segments of 17 = 2 minibatches of at most 8 a
    pass: 4 passes (8 steps) after the first batch, 2 (4 steps) after each later one."""
    tuner = online.Tuner(tiny.model, online.ADAM3, prefix_id=1)
    assert tuner.optimizer.param_groups[0]["lr"] == 1e-3
    segments = [np.arange(i, i + 5) % 7 for i in range(17)]
    assert [int(s[0]) for s in tuner.chosen(segments)[0]] == [0, 2, 4, 6, 1, 3, 5, 0, 2]

    tuner.learn(segments)
    assert steps_taken(tuner) == 8
    tuner.learn(segments)
    tuner.learn(segments)
    assert steps_taken(tuner) == 16


def test_adam4_takes_adam3s_steps_on_every_segment(tiny):
    """Every segment of a batch (17 = 3 minibatches of at most 8 a pass), twice over the first batch
    (6 steps), once over each later one (3 steps): adam/3's step count on twice the segments."""
    tuner = online.Tuner(tiny.model, online.ADAM4, prefix_id=1)
    assert tuner.optimizer.param_groups[0]["lr"] == 1e-3
    segments = [np.arange(i, i + 5) % 7 for i in range(17)]
    assert len(tuner.chosen(segments)[0]) == 17

    tuner.learn(segments)
    assert steps_taken(tuner) == 6
    tuner.learn(segments)
    assert steps_taken(tuner) == 9


def test_adam5_shrinks_adam4s_step_size_after_each_batch(tiny):
    """adam/4's steps (twice over the first batch, once over later ones) at 1e-3 for the first
    batch, then 1e-3 times 0.9 per batch learnt: the same sizes on both ends, one float product."""
    tuner = online.Tuner(tiny.model, online.ADAM5, prefix_id=1)
    segments = [np.arange(i, i + 5) % 7 for i in range(17)]

    sizes = []
    for expected in (6, 9, 12):
        sizes.append(tuner.optimizer.param_groups[0]["lr"])
        tuner.learn(segments)
        assert steps_taken(tuner) == expected
    assert sizes == pytest.approx([1e-3, 0.9e-3, 0.81e-3], rel=1e-12)
    assert online.Tuner(tiny.model, online.ADAM4, prefix_id=1).schedule is None  # adam/1-4: constant


def test_adam6_takes_two_passes_over_each_of_the_first_three_batches(tiny):
    """adam/5's schedule and step sizes, but batches 2 and 3 are learnt twice too: 6 steps on each
    of the first three batches (3 minibatches of 8, 8, 1 segments, two passes), 3 on later ones."""
    tuner = online.Tuner(tiny.model, online.ADAM6, prefix_id=1)
    segments = [np.arange(i, i + 5) % 7 for i in range(17)]

    sizes = []
    for expected in (6, 12, 18, 21, 24):
        sizes.append(tuner.optimizer.param_groups[0]["lr"])
        tuner.learn(segments)
        assert steps_taken(tuner) == expected
    assert sizes == pytest.approx([1e-3 * 0.9**k for k in range(5)], rel=1e-12)


def test_adam7_takes_two_passes_over_the_first_five_batches_and_every_other_segment_after(tiny):
    """adam/6's step sizes; the first five batches learnt twice over every segment (3 minibatches
    of 8, 8, 1 segments: 6 steps each), every later one once over segments 0, 2, ..., 16 (9: 2
    steps), which are the ones it trains on."""
    tuner = online.Tuner(tiny.model, online.ADAM7, prefix_id=1)
    segments = [np.arange(i, i + 5) % 7 for i in range(17)]

    sizes = []
    for expected in (6, 12, 18, 24, 30, 32, 34):
        sizes.append(tuner.optimizer.param_groups[0]["lr"])
        assert len(tuner.chosen(segments)[0]) == (17 if expected <= 30 else 9)
        tuner.learn(segments)
        assert steps_taken(tuner) == expected
    assert [int(s[0]) for s in tuner.chosen(segments)[0]] == [k % 7 for k in range(0, 17, 2)]
    assert sizes == pytest.approx([1e-3 * 0.9**k for k in range(7)], rel=1e-12)


def test_every_tuning_version_has_a_compact_id_and_a_command_line_choice():
    from compress.cli import build_parser
    from compress.core import compact

    assert compact.TUNES == tuple(online.VERSIONS) == (online.ADAM1, online.ADAM2, online.ADAM3, online.ADAM4,
                                                             online.ADAM5, online.ADAM6, online.ADAM7)
    tune = next(a for a in build_parser()._actions if a.dest == "tune")
    assert tune.choices == ["none", *online.VERSIONS]


@pytest.mark.parametrize("name, tune", [("text-growing-tuned", online.ADAM1), ("text-growing-tuned2", online.ADAM2),
                                        ("text-growing-tuned3", online.ADAM3)])
def test_golden_tuned_container_decodes_and_is_reproduced(name, tune):
    """text.bin, independent segments in 4 batches of at most 3, adam/1, 2 or 3: batches 1-3 are
    coded with tuned weights (their streams differ from text-growing.lmc's; batch 0's is the same)."""
    blob = (GOLDEN / f"{name}.lmc").read_bytes()
    golden = container.unpack(blob)
    assert golden.header["tune"] == tune and len(golden.streams) == 4
    original = (GOLDEN / "text.bin").read_bytes()
    assert Compressor(MODEL, **GROWING).decompress(blob, model=MODEL) == original
    untuned = container.unpack((GOLDEN / "text-growing.lmc").read_bytes())
    assert np.array_equal(golden.streams[0], untuned.streams[0])
    assert not all(np.array_equal(a, b) for a, b in zip(golden.streams[1:], untuned.streams[1:], strict=True))
    fresh = container.unpack(Compressor(MODEL, tune=tune, **GROWING).compress(original))
    assert all(np.array_equal(a, b) for a, b in zip(fresh.streams, golden.streams, strict=True))
    for key in ("segments", "batch_crc32", "batch", "tune", "stepper"):
        assert fresh.header[key] == golden.header[key]


@pytest.mark.parametrize("names", [("text-growing-tuned", "text-growing-tuned2"),
                                   ("text-growing-tuned2", "text-growing-tuned3")])
def test_the_versions_code_differently(names):
    a, b = (container.unpack((GOLDEN / f"{n}.lmc").read_bytes()) for n in names)
    assert np.array_equal(a.streams[0], b.streams[0])  # batch 0: the loaded weights in both
    assert not all(np.array_equal(x, y) for x, y in zip(a.streams[1:], b.streams[1:], strict=True))


def test_images_default_to_independent_segments_in_batches_of_256_tuned_by_adam7(tiny_model_dir):
    from test_image import make_array, png_bytes

    data = png_bytes("RGB", make_array("RGB", 9, 7, 2))
    blob = Compressor(str(tiny_model_dir), context=16, threads=1, allow_stored=False).compress(data, modality="image")
    header = container.read_header(blob)
    assert (header["stepper"], header["batch"], header["tune"]) == (stepper.GROWING, 256, online.ADAM7)
    # several batches, so the tuned copy codes batches 1..: still exact, in this process and the header's
    small = Compressor(str(tiny_model_dir), context=16, batch=2, threads=1, allow_stored=False)
    blob = small.compress(data, modality="image")
    header = container.read_header(blob)
    assert header["tune"] == online.ADAM7 and len(header["batches"]) > 2
    assert small.decompress(blob) == data


def test_text_defaults_to_no_tuning_and_video_to_adam1(tiny_model_dir):
    from test_video import y4m

    c = Compressor(MODEL, **GROWING)
    assert "tune" not in container.read_header(c.compress((GOLDEN / "text.bin").read_bytes()))
    data, _ = y4m(6, 4, "420jpeg", 3, seed=5)
    v = Compressor(str(tiny_model_dir), context=16, batch=4, threads=1, allow_stored=False)
    blob = v.compress(data, modality="video")
    assert container.read_header(blob)["tune"] == online.ADAM1
    assert v.decompress(blob) == data


def test_a_tuned_video_decodes_in_another_process(tmp_path, tiny_model_dir):
    """Encoder and decoder in different processes (the command line decodes): the tuned weights
    must agree bit for bit. The encoder is called directly: a random tiny model never beats the
    stored form, which the command line would write instead."""
    import subprocess
    import sys

    from clirun import ENV
    from test_video import y4m

    data, _ = y4m(8, 6, "420jpeg", 4, seed=9)
    src, packed = tmp_path / "clip.y4m", tmp_path / "clip.y4m.lmc"
    src.write_bytes(data)
    encode = ("import sys; from pathlib import Path; from compress.core.engine import Compressor; "
              "c = Compressor(sys.argv[1], context=16, batch=4, threads=1, allow_stored=False); "
              "Path(sys.argv[3]).write_bytes(c.compress(Path(sys.argv[2]).read_bytes(), modality='video'))")
    made = subprocess.run([sys.executable, "-c", encode, str(tiny_model_dir), str(src), str(packed)],
                          env=ENV, capture_output=True, timeout=300)
    assert made.returncode == 0, made.stderr
    header = container.read_header(packed.read_bytes())
    assert header["tune"] == online.ADAM1 and len(header["batches"]) > 2
    listing = lmc("-l", packed)
    assert listing.returncode == 0 and "online tuning adam/1" in listing.stdout.decode(), listing.stderr
    src.unlink()
    back = lmc("-d", "-m", tiny_model_dir, "-q", packed)
    assert back.returncode == 0, back.stderr
    assert src.read_bytes() == data


def test_tuning_is_refused_where_it_cannot_work():
    with pytest.raises(InputError, match="unknown online tuning 'sgd/9'"):
        Compressor(MODEL, tune="sgd/9")
    carried = Compressor(MODEL, context=16, threads=1, stepper_kind=stepper.CARRIED, tune=online.ADAM1)
    with pytest.raises(InputError, match="carried context codes one batch"):
        carried.compress((GOLDEN / "text.bin").read_bytes())


def test_forged_tuning_headers_are_refused_before_decoding():
    tuned = container.unpack((GOLDEN / "text-growing-tuned.lmc").read_bytes())
    c = Compressor(MODEL, **GROWING)
    forged = dict(tuned.header, tune="adam/9")
    with pytest.raises(MismatchError, match="online tuning mismatch: container uses adam/9"):
        c.decompress(container.pack(forged, tuned.streams), model=MODEL)
    carried = container.unpack((GOLDEN / "text-carried.lmc").read_bytes())
    with pytest.raises(ContainerError, match="'tune'/'mix' belong to containers of independent segments"):
        c.decompress(container.pack(dict(carried.header, tune=online.ADAM1), carried.streams), model=MODEL)
    with pytest.raises(ContainerError, match="field 'tune' is not a string"):
        c.decompress(container.pack(dict(tuned.header, tune=7), tuned.streams), model=MODEL)


def test_tuning_memory_is_checked_before_decoding(monkeypatch):
    from compress.core import engine

    blob = (GOLDEN / "text-growing-tuned.lmc").read_bytes()
    lm = Compressor(MODEL, **GROWING).loaded(MODEL, "float32")
    need = online.memory_bytes(lm.model, online.ADAM1, 16)
    assert need > 4 * 4 * sum(p.numel() for p in lm.model.parameters())
    monkeypatch.setattr(engine, "_available_memory", lambda: need)  # the KV cache no longer fits beside it
    with pytest.raises(MismatchError, match="KV cache and online tuning"):
        Compressor(MODEL, **GROWING).decompress(blob, model=MODEL)


# every version, from the table the id test above pins name by name
@pytest.mark.parametrize("flag, expected", [([], "auto"), (["--tune", "none"], None),
                                           *[(["--tune", name], name) for name in online.VERSIONS]])
def test_the_command_line_tune_flag(flag, expected):
    from compress.cli import Cli, build_parser
    from compress.core.engine import AUTO

    cli = Cli(build_parser().parse_args(["-m", MODEL, *flag, "x.y4m"]))
    assert cli.compressor().tune == (AUTO if expected == "auto" else expected)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--tune", "sgd/1", "x"])


def test_the_tuned_scoring_pass_measures_what_the_tuned_coder_codes():
    """Compressor.score(tune=...) replays the coder's batches and Tuner.learn calls: its ideal bits
    come within float noise of the tuned coder's own (the stepped forward's), where the untuned
    figure is off by what the tuning gains."""
    data = (GOLDEN / "text.bin").read_bytes() * 2
    coder = Compressor(MODEL, **GROWING, tune=online.ADAM7)
    blob = coder.compress(data)
    coded = coder.last.ideal_bits
    assert coder.decompress(blob) == data
    tuned = Compressor(MODEL, **GROWING).score(data, tune=online.ADAM7).bits
    untuned = Compressor(MODEL, **GROWING).score(data).bits
    assert Compressor(MODEL, **GROWING, tune=online.ADAM7).score(data, tune="auto").bits == tuned
    assert abs(tuned - coded) < 1e-4 * coded
    assert abs(untuned - coded) > 100 * abs(tuned - coded)


def test_the_tuned_scoring_pass_refuses_carried_context_and_unknown_versions():
    c = Compressor(MODEL, context=16, threads=1, dtype="float32", stepper_kind=stepper.CARRIED)
    with pytest.raises(InputError, match="online tuning"):
        c.score(b"some text to score " * 4, tune=online.ADAM1)
    with pytest.raises(ValueError, match="unknown online tuning"):
        Compressor(MODEL, **GROWING).score(b"text", tune="adam/99")
