"""`python -m evaluation recipe=...`: the same as `python -m evaluation.evaluate`."""

from evaluation.evaluate import command

command()
