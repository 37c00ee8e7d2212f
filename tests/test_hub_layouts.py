"""Every recipe's hub data path, offline: each recipe is composed exactly as users run it (its builder,
data_files, field, revision, split) with only `data.hub.root` moved from hf://datasets to a
`memory://` replica of the repo's real layout (tests/hub_replicas.py), then read by the trainer's
own corpus loader. The bytes must be the documents the recipe means (the right file of the right
split, through the modality front end), and nothing else the replica repo holds."""

import pytest

import hub_replicas as hr
from compress.core import frontends
from train import config as config_mod
from train import corpus
from train.errors import DataError

LIMIT = 1 << 30


def compose(recipe: str, root: str, *extra: str):
    return config_mod.compose([f"recipe={recipe}", "hardware=cpu", f"data.hub.root={root}", *extra])


def expected(cfg, documents, sep: bytes = b"") -> bytes:
    if cfg.data.modality == "text":
        return b"".join(d.encode() + sep for d in documents)
    front = frontends.get(cfg.data.modality, **dict(cfg.data.frontend or {}))
    if cfg.data.modality == "image":
        documents = [corpus.pixels_as_netpbm(d) for d in documents]
    return b"".join(front.split(d)[0] for d in documents)


def test_every_recipe_has_a_layout_test():
    """A new recipe with a hub source must get a replica here (video_mc has none: its clips are made
    locally from photographs by train/synthvideo.py)."""
    covered = {"medal", "pile_of_law", "librispeech", "librispeech_bgpt", "ljspeech", "clic", "kodak_igpt",
               "ilsvrc", "pystdlib"}
    local_only = {"video_mc"}
    assert set(config_mod.options("recipe")) <= covered | local_only
    for recipe in local_only:
        assert config_mod.compose([f"recipe={recipe}"]).data.hub.id is None


def test_users_read_the_real_hub_addresses():
    """With no root override, the files are the hub repos' own hf:// addresses at the pinned revision."""
    def files(recipe):
        return corpus.hub_data_files(config_mod.compose([f"recipe={recipe}"]).data.hub)

    assert files("medal") == ("zip://**/train.csv::hf://datasets/McGill-NLP/medal@"
                              "1b7eb6a1b85ce9849238b5aaac70d1f97a9f04b5/data/pretrain_subset.zip")
    assert files("pile_of_law") == "hf://datasets/pile-of-law/pile-of-law/data/train.eurlex.jsonl.xz"
    assert files("librispeech") == ("hf://datasets/openslr/librispeech_asr@"
                                    "fed4943ea9bdc207dc01b65e0928dd100e18a2a1/clean/validation/*.parquet")
    assert files("clic") == "hf://datasets/SCU-VIP-Lab/compression-eval-datasets/clic2021_valid/*.png"
    assert files("ilsvrc") == "hf://datasets/ILSVRC/imagenet-1k/data/train_images_*.tar.gz"
    lj = config_mod.compose(["recipe=ljspeech"]).test.hub
    assert corpus.hub_data_files(lj) == "hf://datasets/keithito/lj_speech@refs/convert/parquet/main/train/*.parquet"


@pytest.mark.parametrize("nested", [True, False], ids=["pretrain_subset-folder", "top-level"])
def test_medal_reads_train_csv_out_of_the_zip(nested):
    root = hr.new_root()
    texts = hr.medal(root, nested=nested)
    cfg = compose("medal", root)
    built = corpus.build(cfg.data, LIMIT)
    assert built.data == expected(cfg, texts, b"\n")
    assert built.documents == len(texts)
    assert b"valid abstract" not in built.data and b"full text" not in built.data


def test_medal_at_another_revision_is_not_found():
    """The revision is part of the address: a replica of another commit is not read."""
    root = hr.new_root()
    hr.medal(root)
    cfg = compose("medal", root, "data.hub.revision=0000000000000000000000000000000000000000")
    with pytest.raises(DataError, match="McGill-NLP/medal"):
        corpus.build(cfg.data, LIMIT)


def test_pile_of_law_reads_the_eurlex_jsonl_xz():
    root = hr.new_root()
    texts = hr.pile_of_law(root)
    cfg = compose("pile_of_law", root)
    built = corpus.build(cfg.data, LIMIT)
    assert built.data == expected(cfg, texts, b"\n\n") and built.documents == 3


@pytest.mark.parametrize("recipe", ["librispeech", "librispeech_bgpt", "ljspeech"])
def test_librispeech_dev_clean_parquet(recipe):
    """dev-clean only (not test, not 'other'), the FLAC files through the audio front end."""
    root = hr.new_root()
    flacs = hr.librispeech(root)
    cfg = compose(recipe, root)
    built = corpus.build(cfg.data, LIMIT)
    assert built.documents == 3
    assert built.data == expected(cfg, flacs)


def test_ljspeech_test_source_is_lj_speech_parquet_branch():
    """recipe=ljspeech fine-tunes on LibriSpeech and names LJSpeech (refs/convert/parquet) as its
    test corpus; evaluation reads it with the same root swap."""
    from evaluation import measure

    root = hr.new_root()
    wavs = hr.lj_speech(root)
    cfg = compose("ljspeech", root)  # test.hub's root follows data.hub.root
    assert cfg.data.hub.id == "openslr/librispeech_asr" and cfg.test.hub.id == "keithito/lj_speech"
    test_cfg = measure.test_source_cfg(cfg)
    built = corpus.build(test_cfg, LIMIT)
    assert built.documents == 3 and built.data == expected(cfg, wavs)
    assert built.source["id"] == "keithito/lj_speech" and built.source["revision"] == "refs/convert/parquet"


@pytest.mark.parametrize("recipe", ["clic", "kodak_igpt"])
def test_clic_pngs_from_the_compression_eval_repo(recipe):
    root = hr.new_root()
    pngs = hr.compression_eval(root)
    cfg = compose(recipe, root)
    built = corpus.build(cfg.data, LIMIT)
    assert built.documents == 3  # kodak/ and tecnick/ are not read
    assert built.data == expected(cfg, pngs)


def test_ilsvrc_train_tarballs_decoded_to_pixels():
    root = hr.new_root()
    jpegs = hr.imagenet(root)
    cfg = compose("ilsvrc", root)
    built = corpus.build(cfg.data, LIMIT)
    assert built.documents == 4  # val_images.tar.gz is not read
    assert built.data == expected(cfg, jpegs)


def test_jpeg_becomes_its_pixels_and_png_passes_untouched():
    import io

    import numpy as np
    from PIL import Image

    jpeg = hr.image_bytes(1, "JPEG")
    ppm = corpus.pixels_as_netpbm(jpeg)
    assert ppm.startswith(b"P6")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(ppm))), np.asarray(Image.open(io.BytesIO(jpeg))))
    png = hr.image_bytes(2)
    assert corpus.pixels_as_netpbm(png) is png
    with pytest.raises(DataError, match="could not be decoded"):
        corpus.pixels_as_netpbm(b"not an image at all")


def test_pystdlib_has_no_hub_source():
    cfg = config_mod.compose(["recipe=pystdlib", "hardware=cpu"])
    with pytest.raises(DataError, match="data.path"):
        corpus.build(cfg.data, LIMIT)
