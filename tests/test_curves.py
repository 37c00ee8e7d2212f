"""evaluation/curves.py re-plots committed results: container figures attach only to the evaluation
of the same test bytes with the same adapter, and the title names model and domain."""

import json
from pathlib import Path

from evaluation import curves

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"


def load(name):
    return json.loads((RESULTS / name).read_text())


def test_containers_attach_to_the_matching_points_only():
    evals = [load("eval_medal_base.json"), load("eval_medal_tuned.json"),
             load("eval_medal_tuned_640k.json"),  # other bytes
             load("eval_pile_of_law_base.json")]  # other data
    result = curves.add_containers(load("curve_medal.json"), evals)
    boxed = {p["step"]: p["container_bits_per_byte"] for p in result["points"] if "container_bits_per_byte" in p}
    assert boxed == {0: load("eval_medal_base.json")["roundtrip"]["bits_per_byte"],
                     60: load("eval_medal_tuned.json")["roundtrip"]["bits_per_byte"]}
    assert curves.describe_run(result) == ("smollm2-135m", "medal")


def test_plot_titles_the_model_and_domain(tmp_path, monkeypatch):
    import matplotlib.figure

    titles = []
    real = matplotlib.figure.Figure.suptitle
    monkeypatch.setattr(matplotlib.figure.Figure, "suptitle",
                        lambda self, t, **kw: titles.append(t) or real(self, t, **kw))
    out = tmp_path / "c.png"
    curves.main([str(RESULTS / "curve_pile_of_law.json"), str(RESULTS / "eval_pile_of_law_tuned.json"), "-o", str(out)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert titles == ["smollm2-135m LoRA on pile_of_law: 65,536 held-out test bytes (cpu90)"]
