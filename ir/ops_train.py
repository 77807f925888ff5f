"""Declarations of the training-only ops: optimizer updates and training-mode forms.

Where it sits: loaded by ir/ops.py; filled in by the optimizer work.
"""
