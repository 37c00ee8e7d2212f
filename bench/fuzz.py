"""Long fuzz run over mutated golden containers: every mutation must decode exactly or fail cleanly.

    python bench/fuzz.py --count 10000

Mutations (seeded): bit flips, byte overwrites, truncation, insertion, garbage appended, header
fields forged (lengths, counts), chunks duplicated. Each mutated container is decoded with the
committed tiny golden model (tests/golden/tiny-llama). Outcomes: `exact` (decoded to the original —
the mutation changed nothing that matters), `refused:<ErrorType>` (an LMCompressError), and the
failures this run exists to catch: `WRONG_OUTPUT` (bytes other than the original returned),
`CRASH:<type>` (any other exception) and `SLOW` (over --timeout seconds). Writes
bench/results/fuzz.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compress import container  # noqa: E402
from compress.engine import Compressor, library_versions  # noqa: E402
from compress.errors import LMCompressError  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"


def mutate(blob: bytes, rng: random.Random) -> tuple[str, bytes]:
    b = bytearray(blob)
    kind = rng.choice(["flip", "flip", "byte", "truncate", "insert", "append", "forge", "dup"])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == "byte":
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == "truncate":
        del b[rng.randrange(len(b)):]
    elif kind == "insert":
        pos = rng.randrange(len(b) + 1)
        b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == "append":
        b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif kind == "dup":
        start = rng.randrange(len(b))
        b[start:start] = b[start:start + rng.randint(1, 64)]
    else:  # forge a well-formed header with hostile values (passes the header CRC)
        parsed = container.unpack(blob)
        header = dict(parsed.header)
        field = rng.choice(["segments", "batches", "original_length", "payload_length", "context",
                            "batch", "threads", "prefix_id", "batch_crc32", "vocab_size"])
        value = header.get(field)
        if isinstance(value, list) and value:
            value = list(value)
            value[rng.randrange(len(value))] = rng.choice([0, 1, 2**31, 2**62, -1])
        else:
            value = rng.choice([0, 1, 7, 2**31, 2**62, -5, "x", None])
        header[field] = value
        try:
            return f"forge:{field}", container.pack(header, parsed.streams)
        except (TypeError, ValueError, OverflowError):
            return f"forge:{field}", bytes(b)
    return kind, bytes(b)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--seed", type=int, default=20261123)
    p.add_argument("--timeout", type=float, default=10.0)
    args = p.parse_args()
    model = str(GOLDEN / "tiny-llama")
    c = Compressor(model, threads=1)
    c.loaded(model, "float32")  # load once, outside the timed decodes
    cases = [((GOLDEN / f"{n}.lmc").read_bytes(), (GOLDEN / f"{n}.bin").read_bytes()) for n in ("text", "empty")]
    rng = random.Random(args.seed)
    outcomes: collections.Counter = collections.Counter()
    failures = []
    started = time.perf_counter()
    for i in range(args.count):
        blob, original = cases[0] if rng.random() < 0.85 else cases[1]
        kind, damaged = mutate(blob, rng)
        t = time.perf_counter()
        try:
            out = c.decompress(damaged, model=model)
            outcome = "exact" if out == original else "WRONG_OUTPUT"
        except LMCompressError as exc:
            outcome = f"refused:{type(exc).__name__}"
        except Exception as exc:  # noqa: BLE001 - counting crashes is the point
            outcome = f"CRASH:{type(exc).__name__}"
            failures.append({"case": i, "kind": kind, "error": repr(exc)[:300]})
        if time.perf_counter() - t > args.timeout:
            outcome = "SLOW"
        if outcome == "WRONG_OUTPUT":
            failures.append({"case": i, "kind": kind})
        outcomes[outcome] += 1
    seconds = time.perf_counter() - started
    bad = sum(v for k, v in outcomes.items() if k.startswith(("WRONG", "CRASH", "SLOW")))
    result = {"count": args.count, "seed": args.seed, "seconds": seconds, "outcomes": dict(outcomes),
              "wrong_outputs": outcomes.get("WRONG_OUTPUT", 0), "failures": failures[:50],
              "bad": bad, "libraries": library_versions(),
              "command": " ".join(["python"] + sys.argv)}
    for k, v in sorted(outcomes.items()):
        print(f"{k:>28}: {v}")
    print(f"{args.count} mutated containers in {seconds:.0f} s; wrong outputs: "
          f"{result['wrong_outputs']}; crashes/slow: {bad - result['wrong_outputs']}")
    out = ROOT / "bench" / "results" / "fuzz.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
