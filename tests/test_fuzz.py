"""The structure-aware fuzzer's short run (bench/fuzz.py; the long run's figures are in docs/results.md).

Every mutated container and hostile model directory must decode to the original or be refused
with one LMCompressError, within the per-case time and memory bounds the long run states."""

from bench import fuzz


def test_short_fuzz_run_has_no_crash_wrong_output_or_runaway_case():
    result = fuzz.run(count=300, seed=20261202, timeout=10.0, rss_mb=512.0, log=None)
    assert result["bad"] == 0, result["failures"]
    assert set(result["mutation_kinds"]) == {"field", "bytes", "forge", "modeldir", "compact", "stored"}
    assert {"text", "text-json", "stored"} <= set(result["seeds"])
    refused = sum(v for k, v in result["outcomes"].items() if k.startswith("refused:"))
    assert refused > 200  # the run exercised the checks, not only harmless mutations
