"""Evaluation: bits per byte of a recipe's checkpoint and the full coded round trip
(`python -m evaluation recipe=medal`), understanding-vs-compression curves, the system-codec
baselines, lm-evaluation-harness metric names and the demo. The top layer: it uses compress/ and
train/, and nothing imports it.
"""
