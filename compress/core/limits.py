"""The format's size limits, in one place below everything that parses or writes a container.

Limits of the format, enforced by the decoder on every header and by the encoder on every input
and header it writes (through the same `check_header`), so nothing written can fail to read back.
The container module re-exports them; the compact header (compress/core/compact.py) reads them
from here, so the two parsers share one set of bounds without importing each other.
"""

MAX_ORIGINAL = 1 << 30          # bytes of input one container holds (larger inputs: split them)
MAX_HEADER_TEXT = 1 << 24       # bytes of header JSON after inflating (16 MiB)
MAX_HEADER = MAX_HEADER_TEXT + (1 << 16)  # stored (deflated) header bytes
MAX_VOCAB = 1 << 24
MAX_JSON_DEPTH = 8              # the deepest legitimate header nests 5 levels
MAX_JSON_CONTAINERS = 1 << 17   # objects + arrays (PNG chunks, y4m FRAME-line runs: a few each)
MAX_JSON_STRINGS = 1 << 18
