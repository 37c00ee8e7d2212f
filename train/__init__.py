"""Training for lmcompress: LoRA fine-tuning (or byte models from scratch) driven by the hydra recipes
in recipes/; train/lora.py is the command.

Modules, one job each: schema (the config's types), config (compose recipes over them), corpus
(documents -> one byte string), split (deterministic train/validation/test byte ranges, recorded),
data (bytes -> the coder's segments), checkpoint (atomic, loadable checkpoints with manifests;
resume checks), placement (the base read once per launch), qlora (validation on the unquantized
base), modelcard, trainer (the accelerate training run, a Trainer class); synthvideo makes
synthetic training clips for recipe=video_mc (run before training, not by it).
"""
