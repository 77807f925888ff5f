"""netc's version, written once.

Where it sits: the bottom layer, so every package can read it without importing upward:
pyproject.toml takes the distribution's version from here, `compiler.__version__` (and so
`netc --version`) re-exports it, and runtime/jit/cache.py hashes it into every cache key.
"""

VERSION = "0.1.0"
