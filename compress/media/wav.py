"""RIFF/WAVE parsing for the audio front end: where the samples are, and everything around them.

The stdlib `wave` module refuses many real files (WAVE_FORMAT_EXTENSIBLE, chunks it does not
expect, odd sizes, a data size that lies) and throws away what it does not understand. A lossless
front end needs the opposite: locate the sample bytes of the data chunk and keep every other byte
(RIFF header, fmt and all other chunks, pad bytes, whatever follows) untouched, so this is a small
chunk walker that only reads the fields it needs. It never interprets more than the fmt chunk, and
it never "repairs" anything: a size field that lies is left as it is, and the caller decides.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from compress.core.errors import InputError

# WAVE_FORMAT_EXTENSIBLE's PCM subformat GUID, KSDATAFORMAT_SUBTYPE_PCM, as stored (little-endian).
PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")
FORMAT_PCM = 0x0001
FORMAT_EXTENSIBLE = 0xFFFE
# Non-PCM encodings people actually meet, named in the refusal so the user knows what they have.
FORMAT_NAMES = {
    0x0002: "Microsoft ADPCM",
    0x0003: "IEEE float",
    0x0006: "A-law",
    0x0007: "µ-law",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0050: "MPEG",
    0x0055: "MPEG layer 3",
}


@dataclass(frozen=True)
class WavInfo:
    """Where the samples of a WAV file are and how to read them.

    `data[:start]` is everything before the first sample (including the data chunk's own header
    with its size field as written), `data[start:start + present]` the sample bytes that are
    actually in the file, and `data[start + present:]` everything after (pad byte, trailing chunks).
    `declared` is the data chunk's size field; it exceeds `present` when the file is truncated or
    the writer never filled the size in (streaming writers put 0xFFFFFFFF there).
    """

    channels: int
    rate: int
    bits: int  # bits per sample as the fmt chunk states them (the valid bits for EXTENSIBLE)
    width: int  # bytes per sample in the data chunk (container size)
    extensible: bool
    start: int
    declared: int
    present: int

    @property
    def block_align(self) -> int:
        return self.channels * self.width

    @property
    def frames(self) -> int:
        return self.present // self.block_align


def _u32(data: bytes, pos: int) -> int:
    return struct.unpack_from("<I", data, pos)[0]


def _format_name(tag: int) -> str:
    name = FORMAT_NAMES.get(tag)
    return f"{name} (format tag 0x{tag:04X})" if name else f"format tag 0x{tag:04X}"


def _refuse_encoding(what: str) -> InputError:
    return InputError(f"unsupported WAV encoding: {what}; the audio front end codes integer PCM only "
                      "(use --modality text to compress the file as plain bytes)")


def parse_fmt(body: bytes) -> tuple[int, int, int, int, bool]:
    """(channels, rate, bits, width, extensible) of an integer-PCM fmt chunk, else InputError."""
    if len(body) < 16:
        raise InputError(f"damaged WAV file: fmt chunk is {len(body)} bytes, needs at least 16")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body, 0)
    extensible = tag == FORMAT_EXTENSIBLE
    container_bits = bits
    if extensible:
        if len(body) < 40:
            raise InputError("damaged WAV file: WAVE_FORMAT_EXTENSIBLE fmt chunk shorter than 40 bytes")
        valid_bits = struct.unpack_from("<H", body, 18)[0]
        subformat = body[24:40]
        if subformat != PCM_GUID:
            sub_tag = struct.unpack_from("<H", subformat, 0)[0]
            if subformat[2:] == PCM_GUID[2:]:
                raise _refuse_encoding(f"WAVE_FORMAT_EXTENSIBLE with {_format_name(sub_tag)}")
            raise _refuse_encoding(f"WAVE_FORMAT_EXTENSIBLE with subformat {subformat.hex()}")
        bits = valid_bits or bits
    elif tag != FORMAT_PCM:
        raise _refuse_encoding(_format_name(tag))
    if channels < 1:
        raise InputError("damaged WAV file: fmt chunk says 0 channels")
    if not 1 <= container_bits <= 32 or not 1 <= bits <= container_bits:
        raise InputError(f"unsupported WAV file: {bits} bits per sample in a {container_bits}-bit container")
    width = (container_bits + 7) // 8
    if block_align != channels * width:
        raise InputError(f"damaged WAV file: block align {block_align} does not match {channels} "
                         f"channel(s) of {width} byte(s)")
    return channels, rate, bits, width, extensible


def parse(data: bytes) -> WavInfo:
    """Locate fmt and the first data chunk; InputError with one readable line if there are none."""
    if not data:
        raise InputError("empty input: not a WAV file")
    magic = data[:4]
    if magic in (b"RIFX", b"RF64", b"BW64"):
        raise InputError(f"unsupported WAV variant '{magic.decode()}': only little-endian RIFF WAVE "
                         "files up to 4 GiB are handled")
    if len(data) < 12 or magic != b"RIFF" or data[8:12] != b"WAVE":
        raise InputError("not a WAV file (no RIFF/WAVE header)")
    fmt = None
    found = None  # (start, declared, present)
    pos = 12
    while pos + 8 <= len(data):
        cid = data[pos : pos + 4]
        size = _u32(data, pos + 4)
        body = pos + 8
        if cid == b"data" and found is None:
            found = (body, size, min(size, len(data) - body))
            if body + size > len(data):
                break  # truncated or unfilled size: the samples run to the end of the file
        elif body + size > len(data):
            if cid == b"fmt ":
                raise InputError("damaged WAV file: fmt chunk runs past the end of the file")
            break  # a damaged chunk: the caller keeps these bytes verbatim
        elif cid == b"fmt " and fmt is None:
            fmt = parse_fmt(data[body : body + size])
        if found is not None and fmt is not None:
            break
        pos = body + size + (size & 1)
    if found is None:
        raise InputError("not a usable WAV file: no data chunk")
    if fmt is None:
        raise InputError("not a usable WAV file: no fmt chunk")
    channels, rate, bits, width, extensible = fmt
    start, declared, present = found
    return WavInfo(channels=channels, rate=rate, bits=bits, width=width, extensible=extensible,
                   start=start, declared=declared, present=present)
