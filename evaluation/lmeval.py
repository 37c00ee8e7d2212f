"""The evaluation's numbers under lm-evaluation-harness's names, so its tooling can read them.

Why: people compare language models with lm-eval's perplexity tasks (wikitext), whose results JSON
holds `results.<task>.<metric>,<filter>`. Its definitions, all from the summed log-likelihood of
each document (lm_eval/tasks/wikitext: process_results and the weighted_perplexity / bits_per_byte
aggregations):
    bits_per_byte    = total bits / UTF-8 bytes
    byte_perplexity  = 2 ** bits_per_byte
    word_perplexity  = 2 ** (total bits / words), words per document = len(re.split(r"\\s+", doc))
Here the bits are those of the scoring pass (compress.core.scoring), i.e. the model's cross-entropy on
the coder's segmentation of the test bytes; the container sizes stay in the `roundtrip` block.
lm-eval reports no standard error for perplexities ("N/A"); neither do we.
"""

from __future__ import annotations

import re

FILTER = "none"  # lm-eval's key suffix when no output filter is applied


def words(data: bytes, ends: list[int]) -> int:
    """lm-eval's word count over the documents of `data` (cut at `ends`, a last partial one kept)."""
    cuts = [e for e in sorted(set(ends)) if 0 < e < len(data)] + [len(data)] if data else []
    count, start = 0, 0
    for end in cuts:
        count += len(re.split(r"\s+", data[start:end].decode("utf-8", errors="replace")))
        start = end
    return count


def _power_of_two(x: float) -> float:
    try:
        return 2.0 ** x
    except OverflowError:  # a hopeless model: more than 1024 bits per byte or word
        return float("inf")


def results(task: str, bits: float, data: bytes, ends: list[int], modality: str = "text") -> dict:
    """{task: {"alias": task, "bits_per_byte,none": ..., "byte_perplexity,none": ..., ...}}.

    word_perplexity is given for text only: audio or image bytes have no words."""
    nbytes = len(data)
    bpb = bits / nbytes if nbytes else 0.0
    metrics = {"alias": task, f"bits_per_byte,{FILTER}": bpb, f"bits_per_byte_stderr,{FILTER}": "N/A",
               f"byte_perplexity,{FILTER}": _power_of_two(bpb), f"byte_perplexity_stderr,{FILTER}": "N/A"}
    if modality == "text" and nbytes:
        n = words(data, ends)
        metrics[f"word_perplexity,{FILTER}"] = _power_of_two(bits / n)
        metrics[f"word_perplexity_stderr,{FILTER}"] = "N/A"
        metrics["words"] = n
    metrics["bytes"] = nbytes
    return {task: metrics}
