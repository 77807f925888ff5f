"""netc's runtime: the reference interpreter (the oracle) and, with the JIT, compiled networks.

Where it sits: runs what the compiler produced. It never imports the frontend or the passes.
"""
