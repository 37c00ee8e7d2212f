"""LoRA fine-tuning for lmcompress: hydra recipes in recipes/, the trainer in lora.py.

Modules, one job each: config (compose recipes), corpus (documents -> one byte string), split
(deterministic train/validation/test byte ranges, recorded), data (bytes -> the coder's segments),
checkpoint (atomic, loadable checkpoints with manifests), lora (the accelerate training loop).
"""
