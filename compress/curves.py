"""Test bits per byte of every saved checkpoint of a run: does validation predict compression?

    python -m compress.evaluate recipe=medal hardware=cpu checkpoint=checkpoints/medal/RUN curve=true

For the base model (step 0) and every `step-<N>/` checkpoint of the run, the fast scoring pass
(compress.evaluate with the round trip off) on the run's test bytes (eval.test_bytes of them);
validation bits per byte come from the run manifest's curve. Two panels: x = validation bits per
byte, y = test bits per byte (how well "understanding" on validation tracks compression on unseen
data), and x = training step, y = test bits per byte; the classical compressors
(compress/baselines.py) on the same bytes are horizontal lines. Writes <run>/eval/curve.json and
curve.png.
"""

from __future__ import annotations

from pathlib import Path


def points(cfg, state=None) -> dict | None:
    """Score base + every step checkpoint; the result dict on the main process, None elsewhere."""
    from compress import evaluate
    from train import checkpoint as ckpt_mod

    state = state or evaluate._state()
    run_dir = Path(str(cfg.checkpoint))
    manifest = evaluate.read_manifest(run_dir)
    data, ends, record = evaluate.test_part(cfg, manifest)
    cfg.eval.roundtrip_bytes = 0  # scoring only
    val = {c["step"]: c["val_bits_per_byte"] for c in manifest.get("curve", [])}
    base_id = manifest["base_model"].get("id")
    models = [] if base_id is None else [(0, str(base_id))]  # a model trained from scratch has no base
    models += [(step, str(path)) for step, path in ckpt_mod.step_checkpoints(run_dir)]
    rows = []
    for step, spec in models:
        r = evaluate.evaluate(cfg, spec=spec, data=data, ends=ends, record=record, state=state, quiet=True)
        if r is not None:
            rows.append({"step": step, "model": spec, "val_bits_per_byte": val.get(step),
                         "test_bits_per_byte": r["scoring"]["bits_per_byte"], "test_bytes": r["scoring"]["bytes"],
                         "adapter_sha256": r["model"]["adapter_sha256"]})
    if not state.is_main_process:
        return None
    from compress import baselines

    n = rows[0]["test_bytes"] if rows else 0
    base = baselines.run_all(data[:n])
    return {"format": "lmcompress-curve/1", "run": str(run_dir), "test": {
                "sha256": record["test"]["sha256"], "evaluated_bytes": n},
            "points": rows, "baselines": baselines.as_dicts(base)}


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = result["points"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    withval = [p for p in pts if p["val_bits_per_byte"] is not None]
    a.plot([p["val_bits_per_byte"] for p in withval], [p["test_bits_per_byte"] for p in withval], "o-")
    for p in withval:
        a.annotate(str(p["step"]), (p["val_bits_per_byte"], p["test_bits_per_byte"]), fontsize=8)
    a.set_xlabel("validation bits per byte (manifest curve)")
    a.set_ylabel("test bits per byte (scoring)")
    b.plot([p["step"] for p in pts], [p["test_bits_per_byte"] for p in pts], "o-", label="model")
    b.set_xlabel("training step (0 = base)")
    b.set_ylabel("test bits per byte")
    for ax in (a, b):
        for bl in result["baselines"]:
            if bl["status"] == "ok":
                ax.axhline(bl["bits_per_byte"], ls="--", lw=0.8, alpha=0.6)
                ax.text(ax.get_xlim()[0], bl["bits_per_byte"], bl["codec"], fontsize=7, va="bottom")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{Path(result['run']).name}: {result['test']['evaluated_bytes']} test bytes")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(cfg) -> dict | None:
    from compress import evaluate
    from train.errors import ConfigError

    if not cfg.get("checkpoint"):
        raise ConfigError("curve=true needs checkpoint=RUN_DIR (a run with step-* checkpoints)")
    result = points(cfg)
    if result is None:
        return None
    out = Path(str(cfg.checkpoint)) / "eval"
    evaluate.write_json(out / "curve.json", result)
    plot(result, out / "curve.png")
    for p in result["points"]:
        print(f"step {p['step']}: validation {p['val_bits_per_byte']}, test {p['test_bits_per_byte']:.4f} bits/byte")
    print(f"wrote {out / 'curve.json'} and {out / 'curve.png'}")
    return result
