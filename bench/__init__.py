"""netc's benchmark harness: netc against PyTorch, torch.compile, JAX, ONNX Runtime and numpy.

Run ``python -m bench`` from the repository root with the project venv; the peers run from
their own venv (``bench/setup_peers.sh``). See bench/README.md.
"""
