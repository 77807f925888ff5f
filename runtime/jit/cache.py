"""The on-disk compile cache: machine code keyed by everything that changes it.

Where it sits: between codegen and the engine. Two levels:
- objects: one per LLVM module (a kernel, an entry, the library), keyed by the module's text,
  so a kernel shared by a model's forward, gradient and training entries (or by two models) is
  compiled once;
- programs: one per entry point, keyed by the caller's description (netc's planned IR and the
  codegen target); it lists its objects and metadata, so a warm start runs no codegen at all.
Every key also hashes the target triple, CPU name and features, and the netc and llvmlite
versions. Entries are written atomically (temp file, fsync, rename) and carry a checksum: a
truncated or garbage entry is ignored and rebuilt, never loaded. A read-only or missing cache
directory only costs the cache, never the compile.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ir.safe_names import inside, safe_file_name
from ir.version import VERSION as NETC_VERSION
from runtime.jit.engine import Engine, Loaded
from runtime.jit.scheduler import SCHEDULER, compile_here

log = logging.getLogger("netc.cache")
MAGIC = b"NETC-CACHE-3\n"


def cache_dir() -> Path:
    env = os.environ.get("NETC_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "netc"


def cache_key(key_text: str) -> str:
    host = Engine.get().host
    h = hashlib.sha256()
    for part in (key_text, host.triple, host.cpu, host.features, host.llvmlite_version,
                 NETC_VERSION):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


@dataclass
class CacheInfo:
    """How a program was obtained, the time of each stage in seconds, and the metadata the
    builder attached (stored with it, so a cache hit needs no codegen)."""

    key: str
    hit: bool
    path: Path | None
    timings: dict[str, float] = field(default_factory=dict)
    note: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    compiled: int = 0
    reused: int = 0


def _read(path: Path) -> bytes | None:
    """The payload of a complete entry whose checksum matches, else None."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + 32
    if not blob.startswith(MAGIC) or len(blob) < head:
        return None
    digest, payload = blob[len(MAGIC):head], blob[head:]
    return payload if hashlib.sha256(payload).digest() == digest else None


def _write(path: Path, payload: bytes) -> str:
    """Atomic write; returns "" on success or why the cache was skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + hashlib.sha256(payload).digest() + payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        log.info("compile cache not written (%s): %s", path.parent, err)
        return f"cache not written: {err.strerror or err}"
    return ""


def _object_path(key: str) -> Path:
    return cache_dir() / "objects" / f"{key[:40]}.o"


def module_object(text: str, name: str, timings: dict[str, float]) -> tuple[str, bytes, bool]:
    """(key, object code, hit) of one LLVM module; compiles (in this thread) and stores it on a
    miss."""
    key = cache_key(text)
    data = _read(_object_path(key))
    if data is not None:
        return key, data, True
    data = compile_here(name, text, timings)
    _write(_object_path(key), data)
    return key, data, False


ModuleSink = Callable[[str, str], None]
"""What build() may hand (module name, LLVM IR text) to as soon as a module exists: it compiles
on the scheduler's workers (runtime/jit/scheduler.py: a thread here, a helper process) while
build() generates the next one, instead of after build() has returned."""


class _Objects:
    """The object code of one program's modules: those handed to `sink` are looked up in the
    cache at once and, on a miss, compiled by the scheduler; the others in the caller's thread
    when asked for."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.early: dict[str, tuple[str, bytes | Future[bytes]]] = {}

    def sink(self, name: str, text: str) -> None:
        if text in self.early:
            return
        key = cache_key(text)
        data = _read(_object_path(key))
        self.early[text] = (key, data if data is not None
                            else SCHEDULER.submit(name, text, self.timings))

    def get(self, name: str, text: str) -> tuple[str, bytes, bool]:
        if text not in self.early:
            return module_object(text, name, self.timings)
        key, found = self.early[text]
        if isinstance(found, bytes):
            return key, found, True
        data = found.result()
        _write(_object_path(key), data)
        return key, data, False


def compile_program(
    key_text: str, name: str,
    build: Callable[[ModuleSink], tuple[list[tuple[str, str]], dict[str, Any]]],
) -> tuple[Loaded, CacheInfo]:
    """Machine code for the program described by `key_text`, linked into one engine.

    build(sink) returns [(module name, LLVM IR text)...] and metadata to keep with the program;
    it only runs on a miss, and may hand modules to `sink` early (see ModuleSink)."""
    engine = Engine.get()
    key = cache_key(key_text)
    programs = cache_dir() / "programs"  # `name` comes from the model: mapped, then checked
    path = inside(programs, programs / f"{safe_file_name(name)}-{key[:32]}.json")
    start = time.perf_counter()
    payload = _read(path)
    note = "corrupt cache entry ignored and rebuilt" if payload is None and path.exists() else ""
    if payload is not None:
        try:
            manifest = json.loads(payload.decode())
            stored = [_read(_object_path(k)) for k in manifest["objects"]]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
            stored, manifest = [None], {}
        found = [o for o in stored if o is not None]
        if len(found) == len(stored):
            loaded = engine.load_objects(found)
            load = time.perf_counter() - start
            log.debug("cache hit %s: %d objects loaded in %.1f ms", name, len(found), 1e3 * load)
            return loaded, CacheInfo(key, True, path, {"load": load}, meta=manifest["meta"],
                                     reused=len(found))
        note = "cache entry incomplete: rebuilt"
    if note:
        log.warning("%s: %s", path, note)
    timings: dict[str, float] = {}
    objects_of = _Objects(timings)
    t = time.perf_counter()
    modules, meta = build(objects_of.sink)
    timings["codegen"] = time.perf_counter() - t
    keys: list[str] = []
    objects: list[bytes] = []
    compiled = 0
    for module_name, text in modules:
        okey, data, hit = objects_of.get(module_name, text)
        keys.append(okey)
        objects.append(data)
        compiled += not hit
    written = _write(path, json.dumps({"objects": keys, "meta": meta}, sort_keys=True).encode())
    log.debug("cache miss %s: %d modules compiled, %d reused; %s", name, compiled,
              len(objects) - compiled, ", ".join(f"{k} {1e3 * v:.1f} ms"
                                                 for k, v in timings.items()))
    t = time.perf_counter()
    loaded = engine.load_objects(objects)
    timings["load"] = time.perf_counter() - t
    return loaded, CacheInfo(key, False, path, timings, note or written, meta, compiled,
                             len(objects) - compiled)


def compile_cached(text: str, name: str) -> tuple[Loaded, CacheInfo]:
    """One self-contained LLVM module (the thread pool, the library)."""
    return compile_program(text, name, lambda _: ([(name, text)], {}))
