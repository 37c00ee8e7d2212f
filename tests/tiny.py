"""A tiny, seeded, random LLaMA with a byte-level BPE tokenizer, built on the fly for tests.

Real transformers/peft/tokenizers objects, saved to a directory exactly as a user's model would be,
so tests exercise the real loading path without network or shared data. Seconds to build.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = (
    "The quick brown fox jumps over the lazy dog. Patients with diabetes were treated with insulin. "
    "The Commission shall adopt implementing acts in accordance with Article 5. "
) * 20
# One line per character for the first 256 printable code points above U+0020, so that BPE learns
# a single token for each: ByteSymbolizer (image/audio/video payloads) needs 256 such characters.
BYTE_CHARS = "\n".join(c for c in map(chr, range(0x21, 0x180)) if c.isprintable() and not c.isspace())


def build_tiny_model(directory: str | Path, *, seed: int = 0, vocab_size: int = 640,
                     hidden: int = 32, layers: int = 2, tie_word_embeddings: bool = False) -> Path:
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([CORPUS, BYTE_CHARS, BYTE_CHARS], vocab_size=vocab_size, min_frequency=2,
                            special_tokens=["<|endoftext|>", "<s>"], show_progress=False)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>",
                                        eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    tokenizer.save_pretrained(directory)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, tie_word_embeddings=tie_word_embeddings,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    model = LlamaForCausalLM(config)
    model.save_pretrained(directory, safe_serialization=True)
    return directory
