"""netc train: compile a model for training and train it on images (IDX, image folders, .npz).

    netc train examples/lenet5.yaml --epochs 5 --optimizer adam --log runs/metrics.jsonl
    mpirun -np 2 netc train examples/lenet5.yaml     # data-parallel (or: --ranks 2)

Under mpirun every rank runs this command on its shard of each global batch (ranks x --batch
samples; compiler/training/ranks.py) with rank 0's initial parameters; only rank 0 prints,
logs, plots and writes checkpoints. Errors while loading stop every rank with the failing
rank's message.

Defaults: Fashion-MNIST from the Debian package, 5 epochs, batch 64, SGD lr 0.01 momentum 0.9,
seed 0, checkpoint runs/<model>/checkpoint.npz. A checkpoint is written at every epoch end, on
Ctrl-C or SIGTERM (exit 130 / 143, continue with --resume) and at the end. Exit 1 on a user
error, with one line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, BinaryIO

from compiler.frontend import load
from compiler.training import checkpoint, checkpoint_meta, model, ranks
from compiler.training.data import (
    DataError,
    Feeder,
    InputFit,
    Normalization,
    check_classes,
    sample,
)
from compiler.training.formats import load_data
from compiler.training.loop import (
    DEFAULT_LR,
    MetricsLog,
    Outputs,
    Progress,
    RunResult,
    Settings,
    StopSignal,
    Trainer,
    progress_from,
    settings_from,
)
from ir.errors import NetcError
from ir.safe_names import inside, safe_file_name
from runtime.distributed.comm import Comm, launched_ranks, world

TUNABLE = ("batch", "optimizer", "lr", "momentum", "weight_decay", "seed")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text) if text.strip().isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def count(text: str) -> int:
    """argparse type: an integer >= 0."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return int(text)


def resolve_settings(args: argparse.Namespace, resumed: checkpoint.Checkpoint | None,
                     ranks: int = 1) -> Settings:
    """The command's settings; a resumed run keeps its checkpoint's (only --epochs may grow).
    Over N ranks the global batch is N x --batch, so SGD's default learning rate is N times
    its one-process default (the linear scaling rule: the same step per sample, and so the
    accuracy of one process after an epoch of N times fewer steps: lenet5, 2 ranks, 1 epoch:
    84.1% / 83.9% against 83.7% / 83.3% / 85.1% in one process, 80.8% / 80.6% unscaled).
    Adam's default stays (2 ranks: 83.0% unscaled, 83.3% doubled, one process 84.9%)."""
    if resumed is None:
        optimizer = args.optimizer or "sgd"
        scale = ranks if optimizer == "sgd" else 1
        base = Settings(optimizer=optimizer, lr=DEFAULT_LR[optimizer] * scale)
    else:
        base = settings_from(resumed.meta)
    changes: dict[str, Any] = {}
    for name in TUNABLE:
        given = getattr(args, name)
        if given is None:
            continue
        if resumed is not None and given != getattr(base, name):
            flag = "--" + name.replace("_", "-")
            raise NetcError(f"{flag} {given} differs from the checkpoint's {getattr(base, name)}: "
                            f"a resumed run keeps its settings (leave {flag} out)")
        changes[name] = given
    if args.momentum is not None and (changes.get("optimizer") or base.optimizer) == "adam":
        raise NetcError("--momentum applies to --optimizer sgd only")
    epochs = args.epochs if args.epochs is not None else (base.epochs if resumed else 5)
    settings = replace(base, epochs=epochs, **changes)
    return settings


def default_checkpoint(model_name: str) -> Path:
    """runs/<model>/checkpoint.npz, the model's name mapped to a safe folder name: a name from
    a model file (`@../../x`) never picks where the checkpoint goes."""
    runs = Path("runs")
    return inside(runs, runs / safe_file_name(model_name) / "checkpoint.npz")


def _check_resumable(resumed: checkpoint.Checkpoint, path: Path, graph_name: str,
                     train_images: int) -> None:
    meta = resumed.meta
    if meta.get("format") != checkpoint.FORMAT or "progress" not in meta:
        raise checkpoint.CheckpointError(f"{path} holds parameters only, not a training "
                                         "checkpoint of netc train: cannot resume from it")
    missing = [name for name in checkpoint_meta.RESUMABLE if name not in meta]
    if missing:
        raise checkpoint.CheckpointError(f"{path}: its {checkpoint.META_KEY} record lacks the "
                                         f"field '{missing[0]}' a resumed run needs")
    if meta.get("model") != graph_name:
        raise checkpoint.CheckpointError(f"{path} is a checkpoint of model "
                                         f"'{meta.get('model')}', not '{graph_name}'")
    if meta.get("train_images") != train_images:
        raise checkpoint.CheckpointError(f"{path} was trained on {meta.get('train_images')} "
                                         f"images, the data has {train_images}: resuming needs "
                                         "the same data")


class Session:
    """One `netc train` invocation: data, network, outputs, from the command line."""

    def __init__(self, args: argparse.Namespace, comm: Comm) -> None:
        self.args = args
        self.comm = comm
        self.graph = load(args.model)
        model.check_trainable(self.graph, args.model)
        self.ckpt_path = Path(args.checkpoint or default_checkpoint(self.graph.name))
        self.buckets = 0
        """How many gradient buckets each step all-reduces while backward runs (0: none)."""
        self.resumed = checkpoint.load(self.ckpt_path) if args.resume else None
        self.settings = resolve_settings(args, self.resumed, comm.size)
        self.folder, self.train, self.test = load_data(
            args.data, model.input_shape(self.graph, args.model))
        classes = model.classes(self.graph, args.model)
        for split in (self.train, self.test):
            check_classes(split, classes)
        if self.resumed is not None:
            _check_resumable(self.resumed, self.ckpt_path, self.graph.name, len(self.train))
            self.norm = Normalization(**self.resumed.meta["normalization"])
        else:
            self.norm = Normalization.of(self.train.images)
        self.fit = InputFit(self.train.images.shape[1:], model.input_shape(self.graph,
                                                                           args.model))
        self.train_eval = sample(self.train, args.train_eval, self.settings.seed)
        global_batch = self.settings.batch * comm.size
        if global_batch > len(self.train):
            across = f" x {comm.size} ranks" if comm.size > 1 else ""
            raise DataError(f"--batch {self.settings.batch}{across} is larger than the "
                            f"{len(self.train):,} training images")
        self.progress = self._progress()

    def _progress(self) -> Progress:
        """Where the run starts; a run resumed with another number of ranks continues at the
        same sample of its epoch, rounded down to a whole global batch."""
        if self.resumed is None:
            return Progress()
        progress = progress_from(self.resumed.meta)
        before = int(self.resumed.meta.get("ranks", 1))
        if before != self.comm.size:
            progress.batch = progress.batch * before // self.comm.size
        return progress

    def compile(self) -> Any:
        import compiler

        start = time.perf_counter()
        distributed = self.comm if self.comm.size > 1 else None
        net = compiler.compile(self.graph, batch=self.settings.batch, train=True,
                               optimizer=self.settings.make_optimizer(), seed=self.settings.seed,
                               distributed=distributed)
        entries: tuple[str, ...] = ("train",)
        if distributed is not None:
            entries = self._buckets(net)
        entry = getattr(net, "entry", None)  # the JIT generates code on first use: do it now
        if entry is not None:
            for name in (*entries, "forward"):
                entry(name)
        self.compile_seconds = time.perf_counter() - start
        if self.resumed is not None:
            checkpoint.restore(net, self.resumed, str(self.ckpt_path), with_state=True)
        return net

    def _buckets(self, net: Any) -> tuple[str, ...]:
        """Sets --bucket-bytes (0: one Allreduce after backward) and compiles the overlapped
        backward's segments if the step overlaps; the entries left to compile now."""
        bucket = getattr(self.args, "bucket_bytes", None)
        if bucket is not None:
            net.bucket_bytes = bucket or None
        overlap = net.overlap()
        self.buckets = len(overlap.plan.buckets) if overlap is not None else 0
        return ("apply",) if overlap is not None else ("backward", "apply")

    def meta(self) -> dict[str, Any]:
        return {"model": self.graph.name, "model_file": str(self.args.model),
                "normalization": asdict(self.norm), "train_images": len(self.train),
                "input_fit": self.fit.note(), "netc": _version(), "ranks": self.comm.size}


def _version() -> str:
    from compiler import __version__

    return __version__


def write_ir_dumps(net: Any, folder: Path) -> list[Path]:
    """The compiled training step as text IR: after the pipeline (forward, backward, update)
    and after fusion and memory planning (the kernels the JIT generated, with their arena)."""
    from compiler.driver.jit import plan, shared_layout
    from ir.errors import CompileError
    from ir.printer import print_graph

    graphs = [g for g in (net.graphs.forward, net.graphs.grads, net.graphs.train) if g]
    step = net.graphs.train
    planned = plan(step, shared_layout(graphs)[0])
    if planned.plan is None:  # plan() ends with plan-memory, which always sets it
        raise CompileError(f"@{step.name}: plan-memory left no memory plan")
    stem = safe_file_name(step.name)  # the graph's name comes from the model file
    texts = {f"{stem}.train.ir": print_graph(step),
             f"{stem}.train.kernels.ir": print_graph(planned) + "# memory plan\n" + "".join(
                 f"# {line}\n" for line in planned.plan.table().splitlines())}
    written = []
    for name, text in texts.items():
        path = inside(folder, folder / name)
        checkpoint.atomic_write(path, _writer(text.encode()))
        written.append(path)
    return written


def _writer(data: bytes) -> Callable[[BinaryIO], object]:
    """What atomic_write runs to write `data` (bound here, not to a loop variable)."""
    return lambda f: f.write(data)


def _header(s: Session) -> list[str]:
    n, batch = len(s.train), s.settings.batch * s.comm.size
    dropped = n % batch
    skip = (f"; each epoch reshuffles and skips its last {dropped}, a partial batch"
            if dropped else "")
    lines = [f"netc train: {s.graph.name} on {s.folder}: {n:,} training images "
             f"({n // batch:,} batches of {batch} per epoch{skip}), {len(s.test):,} test images",
             f"  {s.settings.describe()}; compiled in {s.compile_seconds:.1f} s"]
    if s.comm.size > 1:
        lines.append(f"  {s.comm.size} ranks (MPI): global batch {s.comm.size} x "
                     f"{s.settings.batch} = {batch}, gradients averaged every step"
                     + (f" (in {s.buckets} buckets, overlapped with backward)"
                        if s.buckets else ""))
        if s.resumed is None and s.args.lr is None and s.settings.optimizer == "sgd":
            lines.append(f"  lr {s.settings.lr:g} = {DEFAULT_LR['sgd']:g} x {s.comm.size} ranks "
                         "(the default scaled with the global batch; --lr sets it)")
    if len(s.train_eval) < n:
        lines.append(f"  train accuracy is measured on a fixed sample of {len(s.train_eval):,} "
                     "training images (--train-eval 0: all of them)")
    if s.fit.note():
        lines.append(f"  note: {s.fit.note()} to fit the model's input")
    if s.resumed is not None:
        p = progress_from(s.resumed.meta)
        lines.append(f"  resuming from {s.ckpt_path}: {p.epoch} epoch(s) and {p.batch} "
                     f"batch(es) done, step {p.step}")
    return lines


def _summary(s: Session, result: RunResult, dumps: list[Path]) -> list[str]:
    lines = []
    if result.test is not None:
        correct = round(result.test.accuracy * len(s.test))
        lines.append(f"test accuracy {result.test.accuracy:.2%} ({correct:,} / {len(s.test):,})"
                     f" after epoch {result.test.epoch}")
    lines.append(f"checkpoint  {s.ckpt_path}")
    if s.args.log:
        lines.append(f"metrics     {s.args.log}")
    if dumps:
        lines.append(f"IR dumps    {', '.join(map(str, dumps))}")
    if s.args.plot:
        lines.append(f"plot        {s.args.plot}")
    return lines


def _stop_message(s: Session, result: RunResult) -> str:
    p = result.progress
    where = f"epoch {p.epoch + 1}, batch {p.batch} (step {p.step})"
    why = ("stopped after --max-steps" if result.ended == "max-steps" else
           f"interrupted by {result.ended}")
    if not result.saved:
        return f"netc: {why} before the first step; {s.ckpt_path} was not touched"
    return (f"netc: {why} at {where}; checkpoint written to {s.ckpt_path}; continue with the "
            "same command plus --resume")


def cmd_train(args: argparse.Namespace) -> int:
    if args.ranks is not None and launched_ranks() == 1:
        return ranks.launch(args.ranks, args)
    comm = world()
    if args.ranks is not None and args.ranks != comm.size:
        raise NetcError(f"--ranks {args.ranks} inside an mpirun job of {comm.size} processes: "
                        "leave --ranks out under mpirun")
    if comm.size == 1:
        return _train(args, comm)
    try:
        return _train(args, comm)
    except ranks.RankError:  # every rank raised it together: each exits on its own
        if comm.rank == 0:
            raise
        return 1
    except Exception as err:  # one rank cannot go on: the others would wait for it forever
        what = "" if isinstance(err, NetcError) else f"{type(err).__name__}: "
        print(f"netc: error: rank {comm.rank} of {comm.size}: {what}{err}", file=sys.stderr,
              flush=True)
        comm.abort(1)
        return 1


def _train(args: argparse.Namespace, comm: Comm) -> int:
    from compiler.training.plot import require_matplotlib

    leader = comm.rank == 0
    if args.plot:
        require_matplotlib()
    with StopSignal() as stop:  # from the start: a Ctrl-C while compiling stops cleanly too
        s = ranks.agreed(comm, lambda: Session(args, comm))
        net = s.compile()
        dumps = write_ir_dumps(net, Path(args.dump_ir)) if args.dump_ir and leader else []
        if leader:
            print("\n".join(_header(s)), flush=True)
        log = MetricsLog(Path(args.log) if args.log and leader else None,
                         append=s.resumed is not None)
        progress = s.progress
        if progress.epoch >= s.settings.epochs:
            if leader:
                print(f"{s.ckpt_path} already holds {progress.epoch} epoch(s); pass --epochs N "
                      f"(N > {progress.epoch}) to train further")
            return 0
        outputs = Outputs(s.ckpt_path, log=Path(args.log) if args.log else None,
                          log_every=args.log_every, check_numerics=args.check_numerics,
                          max_steps=args.max_steps)
        log.write("start", model=s.graph.name, data=str(s.folder),
                  settings=asdict(s.settings), resumed=s.resumed is not None,
                  progress=asdict(progress), ranks=comm.size)
        trainer = Trainer(net, s.settings, Feeder(s.train, s.fit, s.norm),
                          Feeder(s.test, s.fit, s.norm), outputs, s.meta(), progress, log,
                          train_eval=Feeder(s.train_eval, s.fit, s.norm), comm=comm)
        try:
            result = trainer.run(stop)
        finally:
            log.close()
    if not leader:
        return 0 if result.ended in ("done", "max-steps") else 128 + int(stop.signum or 0)
    return _finish(s, result, log, stop, dumps)


def _finish(s: Session, result: RunResult, log: MetricsLog, stop: StopSignal,
            dumps: list[Path]) -> int:
    """Rank 0's last words: the plot, the summary and how the run ended."""
    from compiler.training.plot import plot_curves

    if s.args.plot:
        plot_curves(log.records, s.args.plot, title=f"{s.graph.name}: {s.settings.describe()}")
    print("\n".join(_summary(s, result, dumps)), flush=True)
    if result.ended == "done":
        return 0
    print(_stop_message(s, result), file=sys.stderr, flush=True)
    return 0 if result.ended == "max-steps" else 128 + int(stop.signum or 0)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model on images (Fashion-MNIST by default)",
                       description="Train MODEL on the IDX images in --data (default: the "
                       "Fashion-MNIST of the Debian package dataset-fashion-mnist).")
    p.add_argument("model", help="model file (.yaml, .json, .ir) ending in a "
                                 "softmax_cross_entropy loss")
    p.add_argument("--data", metavar="PATH", help="folder with train-/t10k- images and labels "
                   "in IDX format, plain or .gz; or a folder with one subfolder of PNG/JPEG "
                   "images per class (needs pip install 'netc[images]'); or an .npz with x "
                   "and y")
    p.add_argument("--epochs", type=positive_int, help="train until this many epochs are done "
                   "(default 5)")
    p.add_argument("--batch", type=positive_int, help="batch size the network is compiled for "
                   "(default 64)")
    p.add_argument("--optimizer", choices=("sgd", "adam"), help="default sgd")
    p.add_argument("--lr", type=float, help="learning rate (default 0.01 sgd, 0.001 adam)")
    p.add_argument("--momentum", type=float, help="sgd momentum (default 0.9)")
    p.add_argument("--weight-decay", type=float, help="L2 weight decay (default 0)")
    p.add_argument("--seed", type=int, help="initialization and shuffling seed (default 0)")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="checkpoint file (default runs/<model>/checkpoint.npz)")
    p.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint with its settings")
    p.add_argument("--log", metavar="PATH", help="write metrics as JSON lines to PATH "
                   "(appended to with --resume)")
    p.add_argument("--log-every", type=positive_int, default=10, metavar="N",
                   help="log the loss of every Nth step (default 10)")
    p.add_argument("--plot", metavar="PNG", help="draw loss and accuracy curves at the end "
                   "(needs matplotlib: pip install 'netc[plot]')")
    p.add_argument("--train-eval", type=count, default=10_000, metavar="N",
                   help="measure each epoch's train accuracy on a fixed sample of N training "
                   "images (default 10,000; 0: all)")
    p.add_argument("--dump-ir", metavar="DIR", help="write the IR of the compiled training "
                   "step to DIR")
    p.add_argument("--check-numerics", action="store_true", help="stop at the first NaN/Inf "
                   "and name the step and the op that produced it")
    p.add_argument("--max-steps", type=positive_int, metavar="N",
                   help="stop (with a checkpoint) once N steps are done in total")
    p.add_argument("--ranks", type=positive_int, metavar="N",
                   help="train data-parallel on N processes: starts `mpirun -np N` (needs "
                   "OpenMPI and pip install 'netc[mpi]'); the same as mpirun -np N netc train")
    p.add_argument("--bucket-bytes", type=count, metavar="N",
                   help="over several ranks: all-reduce the gradients in buckets of N bytes "
                   "while backward still runs (0: in one Allreduce after backward; default: "
                   "1 MiB buckets when a core is free for the reducer thread, else 0)")
    p.set_defaults(run=cmd_train)
