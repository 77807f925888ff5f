"""`build_bundle`: a model compiled ahead of time into a folder (library, header, weights).

Where it sits: the driver of compiler/bundle/, what `netc build` (compiler/commands/build.py)
calls. It builds the network as `compiler.compile` does (compiler/driver/network.py: the same
lowering, initial values and persistent layout, plain NCHW so parameters are stored in
PyTorch's order), describes it (spec.py), emits object code for the target (objects.py),
writes the C wrapper, header, weights, example and README, and links the library (link.py).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from compiler.bundle.csource import c_source
from compiler.bundle.example import example_main, readme
from compiler.bundle.header import header
from compiler.bundle.link import link_library
from compiler.bundle.objects import bundle_modules, emit_objects
from compiler.bundle.spec import BundleSpec, describe
from compiler.bundle.target import BundleTarget, bundle_target
from compiler.bundle.weights import region_bytes, write_weights
from compiler.optim import SGD, Adam
from ir.errors import CompileError
from ir.graph import Graph
from runtime.jit.network import JITNetwork
from runtime.jit.pool import thread_count
from runtime.network import Network


def build_bundle(graph: Graph, out_dir: Path, batch: int = 1, train: bool = False,
                 optimizer: SGD | Adam | None = None, target: str | BundleTarget = "host",
                 embed_weights: bool = False, seed: int = 0, threads: int | None = None,
                 prepare: Callable[[Network], None] | None = None) -> BundleSpec:
    """Writes the bundle of `graph` into `out_dir` (created if needed); returns its spec.
    target: a name of compiler/bundle/target.py's TARGETS, or a BundleTarget; threads: the
    most threads the library runs (default: this machine's, as the JIT); prepare: called on
    the compiled network before its weights are written (e.g. to load trained parameters)."""
    from compiler.driver.network import build_network

    bundle = bundle_target(target) if isinstance(target, str) else target
    threads = threads or thread_count()
    if threads < 1:
        raise CompileError(f"threads must be at least 1, got {threads}")
    net = build_network(graph, batch=batch, train=train, optimizer=optimizer, backend="jit",
                        seed=seed, layout="", fold_batch_norm=False)
    if not isinstance(net, JITNetwork):
        raise CompileError("bundles are built from the JIT's network")
    if prepare is not None:
        prepare(net)
    spec = describe(net, bundle, threads)
    try:
        _write_bundle(spec, net, bundle, out_dir, embed_weights)
    except OSError as err:
        raise CompileError(f"{err.filename or out_dir}: cannot write the bundle: "
                           f"{err.strerror or err}") from None
    return spec


def _write_bundle(spec: BundleSpec, net: JITNetwork, bundle: BundleTarget, out_dir: Path,
                  embed_weights: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{spec.name}.weights"
    write_weights(weights, spec.model_id, region_bytes(spec, net))
    (out_dir / f"{spec.name}.h").write_text(header(spec, embed_weights))
    (out_dir / "main.c").write_text(example_main(spec))
    (out_dir / "README.md").write_text(readme(spec, embed_weights))
    (out_dir / f"{spec.name}.netc.json").write_text(json.dumps(spec.manifest(), indent=1))
    with tempfile.TemporaryDirectory(prefix="netc-bundle-") as tmp:
        folder = Path(tmp)
        objects = emit_objects(bundle_modules(spec, bundle), bundle, folder)
        source = folder / f"{spec.name}.c"
        source.write_text(c_source(spec, bundle, weights if embed_weights else None))
        (folder / f"{spec.name}.h").write_text(header(spec, embed_weights))
        link_library(source, objects, spec.name, out_dir / f"lib{spec.name}.so")
