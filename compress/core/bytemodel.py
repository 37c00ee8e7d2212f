"""Byte-level models trained from scratch: the bGPT / image-GPT path beside the LoRA-tuned LLM.

The Nature paper codes audio with bGPT and images with an image GPT: small transformers whose
vocabulary is the 256 byte values. On a 2-core CPU a 135M-parameter LLM codes a few hundred bytes
per second; a model sized for the job codes thousands. Here such a model is an ordinary LLaMA-
architecture `transformers` model with its own tokenizer, saved like any other checkpoint, so the
engine, the trainer and evaluation need no special case:

* the tokenizer's vocabulary is `<unk> <s> </s>` followed by exactly the 256 characters that
  `compress.core.symbols.byte_charmap` picks (the first 256 printable, non-space code points from U+0021),
  so `ByteSymbolizer` maps byte b to token 3 + b and the coder renormalises over those 256 ids;
* `<s>` (BOS) is the prefix token every segment is conditioned on;
* the architecture (width, depth, heads) is the recipe's `model.arch`; the context is the recipe's.
"""

from __future__ import annotations

from compress.core.errors import ModelLoadError

SPECIALS = ("<unk>", "<s>", "</s>")
ARCH_KEYS = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
             "num_key_value_heads", "rope_theta")


def alphabet_chars() -> list[str]:
    """The 256 characters standing for byte values 0..255: byte_charmap's first candidates."""
    from itertools import islice

    from compress.core.symbols import charmap_candidates

    return list(islice(charmap_candidates(), 256))


def check_arch(arch: dict, where: str = "model.arch") -> None:
    """ModelLoadError naming the first bad shape value (integers >= 1; heads dividing evenly)."""
    unknown = sorted(set(arch) - set(ARCH_KEYS))
    if unknown:
        raise ModelLoadError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(ARCH_KEYS)})")
    for key in ARCH_KEYS[:5]:
        v = arch.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ModelLoadError(f"{where}.{key} must be an integer >= 1, got {v!r}")
    if arch["hidden_size"] % arch["num_attention_heads"] or arch["num_attention_heads"] % arch["num_key_value_heads"]:
        raise ModelLoadError(f"{where}: hidden_size must divide into num_attention_heads, and those "
                             "into num_key_value_heads")


def byte_tokenizer():
    """A fast tokenizer that turns each alphabet character into one token (BPE without merges)."""
    from tokenizers import Tokenizer
    from tokenizers.models import BPE
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(list(SPECIALS) + alphabet_chars())}
    core = Tokenizer(BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.add_special_tokens(list(SPECIALS))
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", model_max_length=1 << 30)


def new_model(arch: dict, *, context: int, seed: int, dtype: str = "float32"):
    """A freshly initialised LLaMA-architecture byte model (seeded, so runs are reproducible)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from compress.core.models import DTYPES

    arch = dict(arch or {})
    check_arch(arch)
    config = LlamaConfig(vocab_size=len(SPECIALS) + 256, max_position_embeddings=int(context),
                         bos_token_id=1, eos_token_id=2, pad_token_id=None, tie_word_embeddings=True,
                         rope_theta=float(arch.pop("rope_theta", 10000.0)), attn_implementation="sdpa",
                         **arch)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(int(seed))
    try:
        model = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(generator_state)
    return model.to(DTYPES[dtype])


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())
