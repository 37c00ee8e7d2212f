"""Test bits per byte of every saved checkpoint of a run: does validation predict compression?

    python -m evaluation.evaluate recipe=medal hardware=cpu checkpoint=checkpoints/medal/RUN curve=true

For the base model (step 0) and every `step-<N>/` checkpoint of the run, the fast scoring pass
(evaluation.evaluate with the round trip off) on the run's test bytes (eval.test_bytes of them);
validation bits per byte come from the run manifest's curve. The plot (titled with model and
domain) has three panels: the learning curve over steps (test and validation, plus container bits
per byte where a verified round trip of the same bytes exists), validation against test per
checkpoint (how well "understanding" on validation tracks compression on unseen data), and the
model beside the classical compressors (evaluation/baselines.py, grey) on the same bytes as labelled
bars. Writes <run>/eval/curve.json and curve.png.

    python -m evaluation.curves bench/results/curve_medal.json bench/results/eval_medal_*.json

re-plots a committed curve without retraining, taking container figures from evaluations of the
same test bytes.
"""

from __future__ import annotations

from pathlib import Path


def points(cfg, state=None) -> dict | None:
    """Score base + every step checkpoint; the result dict on the main process, None elsewhere."""
    from evaluation import measure
    from train import checkpoint as ckpt_mod

    state = state or measure.process_state()
    run_dir = Path(cfg.checkpoint)
    manifest = measure.read_manifest(run_dir)
    data, ends, record = measure.test_part(cfg, manifest)
    cfg.eval.roundtrip_bytes = 0  # scoring only
    val = {c["step"]: c["val_bits_per_byte"] for c in manifest.get("curve", [])}
    base_id = manifest["base_model"].get("id")
    models = [] if base_id is None else [(0, str(base_id))]  # a model trained from scratch has no base
    models += [(step, str(path)) for step, path in ckpt_mod.step_checkpoints(run_dir)]
    rows = []
    for step, spec in models:
        r = measure.evaluate(cfg, spec=spec, data=data, ends=ends, record=record, state=state, quiet=True)
        if r is not None:
            rows.append({"step": step, "model": spec, "val_bits_per_byte": val.get(step),
                         "test_bits_per_byte": r["scoring"]["bits_per_byte"], "test_bytes": r["scoring"]["bytes"],
                         "adapter_sha256": r["model"]["adapter_sha256"]})
    if not state.is_main_process:
        return None
    from evaluation import baselines

    n = rows[0]["test_bytes"] if rows else 0
    base = baselines.run_all(data[:n])
    return {"format": "lmcompress-curve/1", "run": str(run_dir), "recipe": manifest.get("recipe_name"),
            "base_model": base_id, "test": {
                "sha256": record["test"]["sha256"], "evaluated_bytes": n},
            "points": rows, "baselines": baselines.as_dicts(base)}


def add_containers(result: dict, evals: list[dict]) -> dict:
    """Copy round-trip bits per byte from evaluation/evaluate.py results onto the curve's points.

    An evaluation belongs to a point when it measured the same test bytes (sha256 of the test part
    and the same evaluated length) with the same adapter (None = the base model): then its scoring
    figure is the point's, and its container figure is what the coder really achieved there."""
    for e in evals:
        rt = e.get("roundtrip") or {}
        if not rt.get("bits_per_byte") or rt.get("bytes") != e["test"]["evaluated_bytes"]:
            continue
        for p in result["points"]:
            if (e["test"]["sha256"] == result["test"]["sha256"] and p["adapter_sha256"] == e["model"]["adapter_sha256"]
                    and e["test"]["evaluated_bytes"] == result["test"]["evaluated_bytes"]):
                p["container_bits_per_byte"] = rt["bits_per_byte"]
    return result


def describe_run(result: dict) -> tuple[str, str]:
    """(model, domain) for the title: recorded by points() since this field exists, else read from
    the run path (checkpoints/<recipe>/<run>) and the step-0 point's model spec."""
    run = Path(result["run"])
    model = result.get("base_model") or next((p["model"] for p in result["points"] if p["step"] == 0), "model")
    return str(model), str(result.get("recipe") or run.parent.name or run.name)


def plot(result: dict, path: Path) -> None:
    """Three panels: the curve over training steps (scoring pass on test and validation, container
    bits where a round trip was measured), validation against test per checkpoint (does
    validation predict compression?), and every codec on the same test bytes as labelled bars.
    The classical codecs sit 1-2 bits per byte above a tuned model, so they get their own panel
    instead of squashing the curves into a flat line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = sorted(result["points"], key=lambda p: p["step"])
    model, domain = describe_run(result)
    n = result["test"]["evaluated_bytes"]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4.6), gridspec_kw={"width_ratios": [1.15, 1, 1.1]})
    steps = [p["step"] for p in pts]
    a.plot(steps, [p["test_bits_per_byte"] for p in pts], "o-", color="C0", label="test, scoring pass")
    withval = [p for p in pts if p["val_bits_per_byte"] is not None]
    a.plot([p["step"] for p in withval], [p["val_bits_per_byte"] for p in withval], "s--", color="C2",
           label="validation, scoring pass")
    boxed = [p for p in pts if p.get("container_bits_per_byte")]
    if boxed:
        a.plot([p["step"] for p in boxed], [p["container_bits_per_byte"] for p in boxed], "D", color="C3",
               markersize=7, label="test, container (verified round trip)")
    a.set_xlabel("training step (0 = base model)")
    a.set_ylabel("bits per byte")
    a.set_title("learning curve")
    a.legend(fontsize=8, loc="upper right")

    if withval:
        xs, ys = [p["val_bits_per_byte"] for p in withval], [p["test_bits_per_byte"] for p in withval]
        b.plot(xs, ys, "o-", color="C0", label="checkpoints (label = step)")
        lo, hi = min(xs + ys), max(xs + ys)
        pad = (hi - lo) * 0.08 or 0.01
        b.plot([lo - pad, hi + pad], [lo - pad, hi + pad], ":", color="grey", lw=1, label="test = validation")
        span = (hi - lo + 2 * pad) or 1.0
        labelled: list[tuple[float, float]] = []
        for p, x, y in reversed(list(zip(withval, xs, ys, strict=True))):  # the last step always gets its label
            if all(abs(x - u) + abs(y - v) > 0.06 * span for u, v in labelled):  # no overlapping labels
                b.annotate(str(p["step"]), (x, y), textcoords="offset points", xytext=(6, -11), fontsize=8)
                labelled.append((x, y))
        b.set_xlim(lo - pad, hi + pad)
        b.set_ylim(lo - pad, hi + pad)
        b.legend(fontsize=8, loc="lower right")
    b.set_xlabel("validation bits per byte")
    b.set_ylabel("test bits per byte")
    b.set_title("does validation predict test?")

    first, last = pts[0], pts[-1]
    bars = [(f"{model} (base)", first["test_bits_per_byte"], "C0"),
            (f"tuned, step {last['step']}", last["test_bits_per_byte"], "C0")]
    for p, label in ((first, f"{model} (base)"), (last, f"tuned, step {last['step']}")):
        if p.get("container_bits_per_byte"):
            bars.append((f"{label}, container", p["container_bits_per_byte"], "C3"))
    bars += [(bl["codec"], bl["bits_per_byte"], "0.6") for bl in result["baselines"] if bl["status"] == "ok"]
    bars.sort(key=lambda t: t[1])
    ys = range(len(bars))
    c.barh(list(ys), [v for _, v, _ in bars], color=[col for _, _, col in bars],
           hatch=None, edgecolor="black", linewidth=0.4)
    for i, (_, v, _) in enumerate(bars):
        c.text(v, i, f" {v:.3f}", va="center", fontsize=8)
    c.set_yticks(list(ys))
    c.set_yticklabels([label for label, _, _ in bars], fontsize=8)
    c.invert_yaxis()
    c.set_xlim(0, max(v for _, v, _ in bars) * 1.18)
    c.set_xlabel("bits per byte (lower is better)")
    c.set_title("same test bytes; classical codecs in grey")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    c.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{model} LoRA on {domain}: {n:,} held-out test bytes ({Path(result['run']).name})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(cfg) -> dict | None:
    from compress.fileio import write_json
    from train.errors import ConfigError

    if not cfg.checkpoint:
        raise ConfigError("curve=true needs checkpoint=RUN_DIR (a run with step-* checkpoints)")
    result = points(cfg)
    if result is None:
        return None
    out = Path(cfg.checkpoint) / "eval"
    write_json(out / "curve.json", result)
    plot(result, out / "curve.png")
    for p in result["points"]:
        print(f"step {p['step']}: validation {p['val_bits_per_byte']}, test {p['test_bits_per_byte']:.4f} bits/byte")
    print(f"wrote {out / 'curve.json'} and {out / 'curve.png'}")
    return result


def main(argv: list[str] | None = None) -> int:
    """Re-plot a curve JSON without retraining: python -m evaluation.curves CURVE.json [EVAL.json ...]
    [-o PNG]; evaluations of the same test bytes add their container bits per byte."""
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m evaluation.curves", description=main.__doc__)
    ap.add_argument("curve", type=Path)
    ap.add_argument("evals", type=Path, nargs="*", help="evaluation/evaluate.py result JSONs")
    ap.add_argument("-o", "--output", type=Path, help="PNG (default: the curve JSON's name with .png)")
    args = ap.parse_args(argv)
    result = add_containers(json.loads(args.curve.read_text()), [json.loads(e.read_text()) for e in args.evals])
    out = args.output or args.curve.with_suffix(".png")
    plot(result, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
