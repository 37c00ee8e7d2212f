"""bench/model_ladder.py's bookkeeping: runs of one model and file at a time merge into one JSON
(a rerun replaces its rows, other models' rows stay) and the table lists models by size."""

import benchscript


def _row(model, file, bpb):
    return {"model": model, "file": file, "bytes": 65536, "bits_per_byte": bpb}


def test_runs_merge_and_the_table_orders_models_by_size(tmp_path):
    ladder = benchscript.load("model_ladder")
    out = tmp_path / "ladder.json"
    big, small = {"alias": "big", "parameters": 270e6}, {"alias": "small", "parameters": 135e6}
    run = lambda model, files: {"model": model, "files": files}  # noqa: E731
    doc = ladder.merge(out, big, [_row("big", "medical", 0.9)], run("big", ["medical"]))
    out.write_text(__import__("json").dumps(doc))
    doc = ladder.merge(out, small, [_row("small", "medical", 1.0), _row("small", "legal", 0.8)],
                       run("small", ["legal", "medical"]))
    out.write_text(__import__("json").dumps(doc))
    doc = ladder.merge(out, big, [_row("big", "medical", 0.85)], run("big", ["medical"]))  # a rerun
    assert sorted((r["model"], r["file"], r["bits_per_byte"]) for r in doc["rows"]) == [
        ("big", "medical", 0.85), ("small", "legal", 0.8), ("small", "medical", 1.0)]
    assert len(doc["runs"]) == 2
    lines = ladder.table(doc).splitlines()
    assert lines[0] == "| model | parameters | medical | legal |"
    assert lines[2] == "| small | 135M | 1.000 | 0.800 |" and lines[3] == "| big | 270M | 0.850 | - |"
