"""Declarations of the ops that only autodiff emits (gradients of the forward ops).

Where it sits: loaded by ir/ops.py; filled in by the autodiff work.
"""
