"""Issue 17, class 5: every CLI verb driven with hostile arguments ends in one line, never in
an internal error.

Odd files (empty, binary, not UTF-8, the wrong format under a known suffix, an .npz where an
.npy belongs, a JSON scalar, /dev/null), folders where files are expected, missing files and
paths under a regular file go into every position that names a file: the model of each verb,
--params, --input, --output, --data, --log, --checkpoint (with and without --resume),
--dump-ir, plot's metrics and -o. Each run happens in-process through compiler.cli.main, so
the whole sweep takes seconds. Exit 3 ("internal error") or a traceback fails the test; so
does any exit but 0, 1 or 2 (argparse), and any error that is not one line.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import compiler
from compiler.cli import main
from compiler.training import checkpoint
from compiler.training.data import write_idx
from tests.synthetic import write_dataset, write_tiny_model

SUFFIXES = (".yaml", ".json", ".ir", ".onnx", ".npz", ".npy", ".jsonl", "")
MODEL_SUFFIXES = (".yaml", ".json", ".ir", ".onnx", "")


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def _npz() -> bytes:
    out = io.BytesIO()
    np.savez(out, a=np.zeros(3, np.float32))
    return out.getvalue()


def _zip_of_text() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("model.yaml", "name: x\n")
    return out.getvalue()


CONTENTS = {
    "empty": b"",
    "garbage": bytes(range(256)) * 4,
    "latin1": "name: caf\xe9\nlayers: [relu]\n".encode("latin-1"),
    "scalar": b"5\n",
    "list": b"[1, 2, 3]\n",
    "object": b"{}\n",
    "nul": b"name: a\0b\n",
    "npy": _npy(np.zeros((2, 3), np.float32)),
    "npz": _npz(),
    "zip": _zip_of_text(),
    "gzip": gzip.compress(b"not what you think"),
    "deep-json": b"[" * 5000 + b"]" * 5000,
}


def hostile_paths(root: Path) -> dict[str, list[Path]]:
    """suffix -> every content under that suffix, a folder, a missing file, a path under a
    regular file; odd places (/dev/null, a non-ASCII name, "-") under every suffix."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "ünïcødé.yaml").write_text("name: ü/../é\nlayers: [relu]\n")
    paths = {}
    for suffix in SUFFIXES:
        paths[suffix] = []
        for name, data in CONTENTS.items():
            path = root / f"{name}{suffix}"
            path.write_bytes(data)
            paths[suffix].append(path)
        folder = root / f"folder{suffix or '-plain'}"
        folder.mkdir()
        paths[suffix] += [folder, root / f"missing{suffix}", root / "empty" / f"under{suffix}",
                          Path("/dev/null"), root / "ünïcødé.yaml", Path("-")]
    return paths


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-fuzz")
    model = write_tiny_model(root)
    params = root / "params.npz"
    checkpoint.save(params, compiler.compile(compiler.load(model), batch=1).params)
    x = root / "x.npy"
    np.save(x, np.zeros((2, 1, 28, 28), np.float32))
    empty_data = root / "empty-data"
    empty_data.mkdir()
    odd_data = write_dataset(root / "zero-images", 32, 8)
    for split in ("train", "t10k"):  # 0x0 images: no pixel at all
        write_idx(odd_data / f"{split}-images-idx3-ubyte", np.zeros((32, 0, 0), np.uint8))
    return {"root": root, "model": model, "params": params, "x": x,
            "data": write_dataset(root / "data", 32, 8), "empty_data": empty_data,
            "zero_data": odd_data, "hostile": hostile_paths(root / "hostile")}


def invocations(w) -> Iterator[list[str]]:
    """Every verb with a hostile path in each of its file positions."""
    model, data = str(w["model"]), str(w["data"])
    train = ["train", model, "--data", data, "--batch", "8", "--max-steps", "1",
             "--train-eval", "8", "--checkpoint", str(w["root"] / "out" / "c.npz")]
    hostile = w["hostile"]
    models = sorted({p for suffix in MODEL_SUFFIXES for p in hostile[suffix]})
    for h in map(str, models):
        yield from (["check", h], ["dump", h, "--train", "--batch", "2"],
                    ["compile", h], ["gradcheck", h, "--batch", "1"], ["explain", h, "fc1"],
                    ["run", h, "--input", str(w["x"])],
                    ["eval", h, "--params", str(w["params"]), "--data", data],
                    ["train", h, "--data", data, "--max-steps", "1"])
    for h in map(str, hostile[".npz"]):
        yield ["run", model, "--params", h, "--input", str(w["x"])]
        yield ["eval", model, "--params", h, "--data", data]
        yield ["train", model, "--data", data, "--checkpoint", h, "--resume"]
    for h in map(str, hostile[".npy"]):
        yield ["run", model, "--input", h]
    for h in map(str, hostile[".jsonl"]):
        yield ["plot", h, "-o", str(w["root"] / "out" / "p.png")]
    for h in map(str, hostile[""]):
        yield ["train", model, "--data", h, "--max-steps", "1"]
        yield ["eval", model, "--params", str(w["params"]), "--data", h]
    for h in map(str, [p for p in hostile[""] if p.name.startswith(("folder", "under"))]):
        yield [*train, "--log", h]
        yield [*train[:-2], "--checkpoint", h]
        yield [*train, "--dump-ir", h]
        yield ["run", model, "--input", str(w["x"]), "--output", h]
    for folder in (w["empty_data"], w["zero_data"], w["root"], w["root"] / "hostile"):
        yield ["train", model, "--data", str(folder), "--max-steps", "1"]
        yield ["eval", model, "--params", str(w["params"]), "--data", str(folder)]
    yield from (["bench", "--rounds", "x"], ["bench", "--only", "no-such-workload"],
                ["check", model, "--batch", "-1"], ["check", model, "--batch", "0"],
                ["compile", model, "--batch", "-5"], ["gradcheck", model, "--batch", "0"],
                ["dump", model, "--batch", "-2"], ["gradcheck", model, "--tol", "nan"],
                ["explain", model, "no-such-layer"], ["explain", model, ""],
                ["run", model, "--input", str(w["x"]), "--batch", "0"],
                ["train", model, "--data", data, "--lr", "nan", "--max-steps", "1"],
                ["train", model, "--data", data, "--batch", "100000", "--max-steps", "1"])


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(args)
    except SystemExit as stop:  # argparse: usage error (2) or --help (0)
        code = stop.code if isinstance(stop.code, int) else 2
    out = capsys.readouterr()
    return code, out.err


def test_every_verb_survives_hostile_paths(world, capsys, monkeypatch):
    monkeypatch.chdir(world["root"])
    monkeypatch.setenv("NETC_CACHE_DIR", str(world["root"] / "cache"))
    failures, count = [], 0
    for args in invocations(world):
        count += 1
        code, err = run_cli(args, capsys)
        lines = [line for line in err.splitlines() if line.startswith("netc: error:")]
        bad = (code not in (0, 1, 2) or "internal error" in err or "Traceback" in err
               or (code == 1 and len(lines) != 1))
        if bad:
            failures.append(f"netc {' '.join(args)} -> exit {code}: {err.strip()[-300:]}")
    assert not failures, f"{len(failures)} of {count} runs failed:\n" + "\n".join(failures)
    assert count > 500


def test_a_few_hostile_runs_give_the_expected_line(world, capsys, monkeypatch):
    """Spot checks of the messages for the instances named in issue 17."""
    monkeypatch.chdir(world["root"])
    monkeypatch.setenv("NETC_CACHE_DIR", str(world["root"] / "cache"))
    h, model = world["root"] / "hostile", str(world["model"])
    cases = [
        (["run", model, "--input", str(h / "npz.npz")], "an .npz archive of arrays"),
        (["run", model, "--input", str(h / "empty.npy")], "empty file, not an .npy array"),
        (["train", model, "--data", str(world["data"]), "--batch", "8", "--max-steps", "1",
          "--log", str(h / "folder.jsonl")], "is a folder; name a file"),
        (["train", model, "--data", str(world["zero_data"]), "--batch", "8", "--max-steps", "1"],
         "images of 0x0 pixels hold no pixel"),
        (["plot", str(h / "latin1.jsonl"), "-o", "p.png"], "not UTF-8 text"),
    ]
    for args, fragment in cases:
        code, err = run_cli(args, capsys)
        assert code == 1, (args, err)
        assert err.startswith("netc: error: "), err
        assert fragment in err, err


def test_idx_images_of_no_pixels_are_refused_without_a_warning(world, recwarn):
    from compiler.training.data import DataError, load_split

    with pytest.raises(DataError, match="0x0 pixels"):
        load_split(world["zero_data"], "train")
    assert [str(w.message) for w in recwarn] == []
