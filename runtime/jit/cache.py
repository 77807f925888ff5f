"""The on-disk compile cache: machine code keyed by everything that changes it.

Where it sits: between codegen and the engine. Two levels:
- objects: one per LLVM module (a kernel, an entry, the library), keyed by the module's text,
  so a kernel shared by a model's forward, gradient and training entries (or by two models) is
  compiled once;
- programs: one per entry point, keyed by the caller's description (netc's planned IR and the
  codegen target); it lists its objects and metadata, so a warm start runs no codegen at all,
  and, once linked in the background, names the shared object of its objects
  (runtime/jit/linked.py), which a warm start loads with ctypes instead of loading LLVM.
Every key also hashes the target triple, CPU name and features (`host`: recorded per CPU, so a
warm start does not ask LLVM), how objects are emitted (object_format.py), and the netc and
llvmlite versions. Entries are written atomically (temp file, fsync, rename) and carry a checksum: a
truncated or garbage entry is ignored and rebuilt, never loaded. A read-only or missing cache
directory only costs the cache, never the compile.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ir.errors import CompileError
from ir.safe_names import inside, safe_file_name
from ir.version import VERSION as NETC_VERSION
from runtime.jit.host import HostTarget, cpu_identity
from runtime.jit.linked import Linked, LinkQueue, link_objects
from runtime.jit.object_format import OBJECT_FORMAT

if TYPE_CHECKING:
    from runtime.jit.engine import Loaded

log = logging.getLogger("netc.cache")
MAGIC = b"NETC-CACHE-3\n"


def cache_dir() -> Path:
    env = os.environ.get("NETC_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "netc"


_HOST: list[HostTarget] = []
_HOST_LOCK = threading.Lock()


def host() -> HostTarget:
    """What this process generates machine code for: what LLVM said about this CPU, read from
    the cache directory when a process on the same CPU (runtime/jit/host.py's cpu_identity)
    wrote it, so that a warm start loads no LLVM; asked of LLVM (and written) otherwise."""
    if not _HOST:
        with _HOST_LOCK:  # the main thread and compile()'s background ones ask at once
            if not _HOST:
                record = _host_record()  # the CPUID probe, once
                _HOST.append(_recorded_host(record) or _llvm_host(record))
    return _HOST[0]


def _host_record() -> Path | None:
    identity = cpu_identity()
    if identity is None:
        return None
    name = hashlib.sha256(f"{NETC_VERSION}\n{identity}".encode()).hexdigest()[:32]
    return cache_dir() / "hosts" / f"{name}.json"


def _recorded_host(record: Path | None) -> HostTarget | None:
    payload = _read(record) if record is not None else None
    if payload is None:
        return None
    try:
        return HostTarget(**json.loads(payload.decode()))
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError):
        return None


def _llvm_host(record: Path | None) -> HostTarget:
    from runtime.jit.engine import Engine

    found = Engine.get().host
    if record is not None:
        _write(record, json.dumps(asdict(found), sort_keys=True).encode())
    return found


def cache_key(key_text: str) -> str:
    found = host()
    h = hashlib.sha256()
    for part in (key_text, found.triple, found.cpu, found.features, found.llvmlite_version,
                 OBJECT_FORMAT, NETC_VERSION):
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
    from runtime.jit.scheduler import compile_here

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
        from runtime.jit.scheduler import SCHEDULER

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
) -> tuple[Loaded | Linked, CacheInfo]:
    """Machine code for the program described by `key_text`: the shared object its objects
    were linked into (runtime/jit/linked.py: no LLVM loaded), else the objects in one MCJIT
    engine, a link of them starting in the background for the next process.

    build(sink) returns [(module name, LLVM IR text)...] and metadata to keep with the program;
    it only runs on a miss, and may hand modules to `sink` early (see ModuleSink)."""
    key = cache_key(key_text)
    programs = cache_dir() / "programs"  # `name` comes from the model: mapped, then checked
    path = inside(programs, programs / f"{safe_file_name(name)}-{key[:32]}.json")
    start = time.perf_counter()
    manifest, note = _manifest(path)
    if manifest is not None:
        found = _load_stored(path, manifest)
        if found is not None:
            loaded, reused = found
            load = time.perf_counter() - start
            log.debug("cache hit %s: %s, %d objects, in %.1f ms", name, type(loaded).__name__,
                      reused, 1e3 * load)
            return loaded, CacheInfo(key, True, path, {"load": load}, meta=manifest["meta"],
                                     reused=reused)
        note = "cache entry incomplete: rebuilt"
    if note:
        log.warning("%s: %s", path, note)
    with _LINKS[0].building():
        return _build(key, path, name, build, note)


def _manifest(path: Path) -> tuple[dict[str, Any] | None, str]:
    """A program's stored manifest ({"objects": [key...], "meta": {...}}, and "shared" once
    linked), or None and why not."""
    payload = _read(path)
    if payload is None:
        return None, "corrupt cache entry ignored and rebuilt" if path.exists() else ""
    try:
        manifest = json.loads(payload.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, "corrupt cache entry ignored and rebuilt"
    if (not isinstance(manifest, dict) or not isinstance(manifest.get("objects"), list)
            or not isinstance(manifest.get("meta"), dict)):
        return None, "corrupt cache entry ignored and rebuilt"
    return manifest, ""


def _load_stored(path: Path, manifest: dict[str, Any]) -> tuple[Loaded | Linked, int] | None:
    """The stored program loaded, and how many objects it holds; None when some object is
    missing or damaged."""
    count = len(manifest["objects"])
    linked = _linked(path, manifest)
    if linked is not None:
        return linked, count
    stored = [_read(_object_path(str(k))) for k in manifest["objects"]]
    objects = [o for o in stored if o is not None]
    if len(objects) != count:
        return None
    loaded = _engine().load_objects(objects)
    if "failed" not in (manifest.get("shared") or {}):  # a link that failed once fails again
        _link_later(path, manifest, objects)
    return loaded, count


def _shared_path(path: Path) -> Path:
    return path.with_suffix(".so")


def _linked(path: Path, manifest: dict[str, Any]) -> Linked | None:
    """The program's shared object, when the manifest names one and the file is the one
    named (its SHA-256): a damaged or missing one falls back to the objects."""
    shared = manifest.get("shared")
    if not isinstance(shared, dict):
        return None
    so = _shared_path(path)
    try:
        digest = hashlib.sha256(so.read_bytes()).hexdigest()
    except OSError:
        return None
    if digest != shared.get("sha256"):
        return None
    try:
        return Linked(so)
    except OSError as err:  # dlopen refused it (a noexec folder, a hardened system)
        log.info("%s not loaded (%s): the objects are", so, err)
        _mark_unlinked(path, manifest, f"not loaded: {err}")
        return None


_LINKS = [LinkQueue()]


def _link_later(path: Path, manifest: dict[str, Any], objects: list[bytes]) -> None:
    """Links the program's objects into its shared object in the background (linked.py's
    LinkQueue: once this process builds nothing, or at exit), then names it in the manifest."""
    _LINKS[0].submit(lambda: _link(path, manifest, objects))


def wait_for_links() -> None:
    """Returns once every link queued so far has finished (its manifest rewritten): for
    callers that inspect or change the cache's files, like the tests."""
    _LINKS[0].drain()


def _link_at_exit() -> None:
    _LINKS[0].drain(exiting=True, timeout=60.0)


atexit.register(_link_at_exit)


def _link(path: Path, manifest: dict[str, Any], objects: list[bytes]) -> None:
    so = _shared_path(path)
    try:
        link_objects(objects, so)
        digest = hashlib.sha256(so.read_bytes()).hexdigest()
    except (CompileError, OSError) as err:
        log.info("%s not linked (%s): later starts load its objects", so.name, err)
        _mark_unlinked(path, manifest, str(err))
        return
    _write(path, json.dumps({**manifest, "shared": {"sha256": digest}}, sort_keys=True).encode())


def _mark_unlinked(path: Path, manifest: dict[str, Any], reason: str) -> None:
    """Records in the manifest that this program's shared object cannot be made or loaded
    here, so that later starts load its objects without running cc again at every exit."""
    manifest["shared"] = {"failed": reason[:300]}
    _write(path, json.dumps(manifest, sort_keys=True).encode())


def _forget_links() -> None:
    """In a child made by fork: the linking thread was the parent's."""
    _LINKS[0] = LinkQueue()


os.register_at_fork(after_in_child=_forget_links)


def _engine() -> Any:
    from runtime.jit.engine import Engine  # loads LLVM: not on a start that finds a .so

    return Engine.get()


def _build(key: str, path: Path, name: str,
           build: Callable[[ModuleSink], tuple[list[tuple[str, str]], dict[str, Any]]],
           note: str) -> tuple[Loaded, CacheInfo]:
    """A miss: build() the modules, compile those not cached, store and load the program."""
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
    manifest = {"objects": keys, "meta": meta}
    written = _write(path, json.dumps(manifest, sort_keys=True).encode())
    log.debug("cache miss %s: %d modules compiled, %d reused; %s", name, compiled,
              len(objects) - compiled, ", ".join(f"{k} {1e3 * v:.1f} ms"
                                                 for k, v in timings.items()))
    t = time.perf_counter()
    loaded: Loaded = _engine().load_objects(objects)
    timings["load"] = time.perf_counter() - t
    if not written:
        _link_later(path, manifest, objects)
    return loaded, CacheInfo(key, False, path, timings, note or written, meta, compiled,
                             len(objects) - compiled)
