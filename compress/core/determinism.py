"""Settings that make the model's floating-point output reproducible between encoder and decoder.

Arithmetic decoding only works if the decoder sees bit-identical probabilities. On one machine that
holds when the same code runs with the same tensor shapes, deterministic kernels, no TF32, and the
same number of intra-op threads (measured: 1 and 2 threads give different logits on CPU). The thread
count is therefore written into every container and restored here before decoding.
"""

from __future__ import annotations

import os

import torch


def apply(threads: int) -> None:
    """Switch torch to deterministic kernels and pin the intra-op thread count to `threads`."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def default_threads() -> int:
    """The thread count torch would use here; what the encoder records unless told otherwise."""
    return torch.get_num_threads()
