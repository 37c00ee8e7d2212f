"""Settings that make the model's floating-point output reproducible between encoder and decoder.

Arithmetic decoding only works if the decoder sees bit-identical probabilities. On one machine that
holds when the same code runs with the same tensor shapes, deterministic kernels, no TF32, and the
same number of intra-op threads (measured: 1 and 2 threads give different logits on CPU). The thread
count is therefore written into every container and restored here before decoding.
"""

from __future__ import annotations

import os

import torch

from compress.core import linear16

# MKL (torch's CPU BLAS on x86) picks its kernels by processor vendor as well as instruction set:
# on an AMD EPYC with AVX-512 and MKL_CBWR unset the carried stepper's logits moved and
# tests/golden/text-carried-plain.lmc (made on another x86-64 machine) stopped decoding. Measured
# there: MKL_CBWR=COMPATIBLE fails the same way, AUTO, AVX2 and AVX512 all decode every golden
# container. Conditional Numerical Reproducibility pins the branch by instruction set, so x86
# processors with the same one compute the same bits whoever made them. MKL reads MKL_CBWR when it
# first runs, so this is set when the engine is imported, before any model computes (a value the
# user set is kept).
_MKL_BRANCHES = ("AVX512", "AVX2")  # torch's CPU capability names, which MKL_CBWR also takes
# oneDNN (torch's CPU kernels for bfloat16 matrix products: the bf16-linear dtype) picks its kernels
# by instruction set too, and they round differently: one bfloat16 product gave three different
# results with AMX, with AVX512-BF16 only and with AVX2 (the project's Xeon, ONEDNN_MAX_CPU_ISA
# capped at each). Capping it at AMX where AMX exists gives the same bits as no cap there and keeps
# a later processor's newer kernels (AMX-FP16, AVX10) from moving them; the same holds for the
# AVX512-BF16 kernels of processors without AMX (an AMD EPYC: the cap and no cap code the same
# bytes). Each kernel family computes its own bits, which the header's device kind records
# (compress/core/engine.py device_kind). The caps: compress/core/linear16.py HARDWARE_KERNELS.


def pin_mkl_branch() -> str | None:
    """Set MKL_CBWR from the processor's instruction set unless already set; returns its value."""
    if "MKL_CBWR" not in os.environ:
        capability = torch.backends.cpu.get_cpu_capability()
        if capability in _MKL_BRANCHES:
            os.environ["MKL_CBWR"] = capability
    return os.environ.get("MKL_CBWR")


pin_mkl_branch()


def pin_onednn_isa() -> str | None:
    """Cap ONEDNN_MAX_CPU_ISA at the processor's bfloat16 kernels (AMX, else AVX512-BF16) unless
    already set; returns its value."""
    if "ONEDNN_MAX_CPU_ISA" not in os.environ:
        cap = linear16.HARDWARE_KERNELS.get(linear16.cpu_kernel())
        if cap is not None:
            os.environ["ONEDNN_MAX_CPU_ISA"] = cap
    return os.environ.get("ONEDNN_MAX_CPU_ISA")


pin_onednn_isa()


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
