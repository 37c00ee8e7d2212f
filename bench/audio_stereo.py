"""Two-channel speech: the nlms+lms predictor's mid-side choice against coding the channels apart.

    python bench/audio_stereo.py CHECKPOINT [--files 2] [--threads 2] [--out JSON]

There is no stereo speech in ../shared/data (every file is mono), so this builds the commonest
real two-channel case from the librivox clips: dual mono, the same samples in both channels (a mono
recording saved as stereo). Each such file is coded by the checkpoint twice, with the per-file
choice of compress/media/nlms.py `choose_stereo` (what the encoder does) and with the channels
forced apart (what it did before mid-side existed), every container decoded and compared; FLAC -8
and WavPack -hh -x6 (which both decorrelate stereo) code the same files. Nothing is tuned here:
the choice is parameter-free. Writes bench/results/audio_stereo.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from audio_baselines import compressed_size, tool_version
from common import ROOT, machine, save_result
from compress.core import container
from compress.core.engine import Compressor
from compress.media import nlms
from fuzz import dual_mono

LIBRIVOX = ROOT.parent / "shared" / "data" / "audio" / "librivox"
CODECS = ("flac -8", "wavpack -hh -x6")


def code(comp: Compressor, data: bytes) -> dict:
    blob = comp.compress(data, modality="audio", predictor="nlms+lms")
    c_s = comp.last.seconds
    exact = comp.decompress(blob) == data
    header = container.read_header(blob)
    return {"bytes": len(blob), "stereo": header["frontend"]["predictor"].get("stereo", "apart"),
            "compress_s": c_s, "decompress_s": comp.last.seconds, "exact": exact}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--files", type=int, default=2, help="the N smallest librivox clips")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "audio_stereo.json")
    args = p.parse_args(argv)

    comp = Compressor(args.checkpoint, threads=args.threads)
    clips = sorted(LIBRIVOX.glob("*.wav"), key=lambda f: f.stat().st_size)[: args.files]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            data = dual_mono(clip.read_bytes())
            payload = len(data) - 44
            path = Path(tmp) / "in.wav"
            path.write_bytes(data)
            row = {"file": clip.name, "construction": "dual mono", "payload_bytes": payload,
                   "baselines": {c: compressed_size(c, path, Path(tmp))[0] for c in CODECS}}
            row["chosen"] = code(comp, data)
            choose = nlms.choose_stereo
            nlms.choose_stereo = lambda *a, **k: False  # the channels apart, as before mid-side
            try:
                row["apart"] = code(comp, data)
            finally:
                nlms.choose_stereo = choose
            rows.append(row)
            print(f"{clip.name} (dual mono, {payload} B): chosen {row['chosen']['stereo']} "
                  f"{row['chosen']['bytes']} B, apart {row['apart']['bytes']} B, "
                  + ", ".join(f"{c} {n} B" for c, n in row["baselines"].items()), flush=True)
    total = sum(r["payload_bytes"] for r in rows)
    table = {"lmcompress, mid-side chosen": sum(r["chosen"]["bytes"] for r in rows),
             "lmcompress, channels apart": sum(r["apart"]["bytes"] for r in rows),
             **{c: sum(r["baselines"][c] for r in rows) for c in CODECS}}
    print(f"\n{'codec':32s} {'bytes':>9s} {'ratio':>7s}")
    for name, size in table.items():
        print(f"{name:32s} {size:9d} {total / size:7.3f}")
    doc = {"what": "dual-mono stereo made from librivox clips (the same samples in both channels), coded "
                   "with nlms+lms: mid-side as chosen per file vs the channels apart; ratio = PCM payload "
                   "bytes / compressed bytes",
           "checkpoint": args.checkpoint, "threads": args.threads, "machine": machine(),
           "tools": {t: tool_version(t) for t in ("flac", "wavpack")},
           "all_exact": all(r["chosen"]["exact"] and r["apart"]["exact"] for r in rows),
           "totals": {k: {"bytes": v, "ratio": total / v} for k, v in table.items()},
           "payload_bytes": total, "rows": rows, "measured": time.strftime("%Y-%m-%d")}
    save_result(args.out, doc, "bench/audio_stereo.py", argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
