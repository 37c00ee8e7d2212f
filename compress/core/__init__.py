"""The engine core: the one probability path (models, symbols, stepper, adapt, quantize), the
arithmetic coder, segmentation, and the container (header, compact form, validation).

Nothing here imports the media front ends (compress/media/), the training code (train/) or the
evaluation code (evaluation/); tests/test_layers.py enforces it.
"""

__version__ = "0.1.0"
