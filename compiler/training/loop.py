"""The training loop: epochs of shuffled batches, a progress bar, metrics, checkpoints.

Where it sits: driven by `netc train` (compiler/commands/train.py) and usable from Python.
It only uses a compiled network's public face: `train_step`, `forward`, `params`, `state`.

What makes a run reproducible and resumable bit for bit:
- parameters are initialized from the seed (`compiler.compile(..., seed=)`);
- the order of epoch e is `epoch_order(n, seed, e)`, so no random state carries over;
- a checkpoint holds the parameters, the optimizer state (momentum buffers, Adam moments and
  step) and the progress (epoch, batch within it, step, the epoch's loss sum so far);
so a run stopped after any step and resumed from its checkpoint performs exactly the same
float operations, in the same order, as one that never stopped.

The last partial batch of each epoch is dropped (the network is compiled for one batch size);
the reshuffle makes every epoch drop different samples. Evaluation counts every sample: its
last batch is padded and only the real rows are scored.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import numpy as np

from compiler.optim import SGD, Adam
from compiler.training import checkpoint
from compiler.training.data import Feeder, epoch_order
from compiler.training.numerics import NumericsGuard
from compiler.training.prefetch import Prefetcher
from compiler.training.ranks import Shard, agreed_stop
from ir.errors import NetcError
from runtime.distributed.comm import Comm, LocalComm

DEFAULT_LR = {"sgd": 0.01, "adam": 1e-3}
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Everything that decides the numbers a run computes (stored in every checkpoint)."""

    epochs: int = 5
    batch: int = 64
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    seed: int = 0

    def make_optimizer(self) -> SGD | Adam:
        if self.optimizer == "adam":
            return Adam(lr=self.lr, weight_decay=self.weight_decay)
        return SGD(lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)

    def describe(self) -> str:
        opt = (f"adam lr {self.lr:g}" if self.optimizer == "adam" else
               f"sgd lr {self.lr:g} momentum {self.momentum:g}")
        decay = f" weight decay {self.weight_decay:g}" if self.weight_decay else ""
        return f"{opt}{decay}, batch {self.batch}, seed {self.seed}"


@dataclass
class Progress:
    """Where a run stands: `epoch` epochs done, then `batch` batches of the next one."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    loss_sum: float = 0.0
    seconds: float = 0.0


@dataclass
class Outputs:
    """Where a run writes, and how it checks itself."""

    checkpoint: Path
    log: Path | None = None
    log_every: int = 10
    check_numerics: bool = False
    max_steps: int | None = None
    progress_bar: bool | None = None
    """None: a bar when stderr is a terminal (tqdm's rule)."""


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    predictions: np.ndarray = field(repr=False)
    epoch: int = 0
    """The epoch after which it was measured (0: not during training)."""


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample softmax cross-entropy in float64."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return np.asarray(log_norm - z[np.arange(len(labels)), labels])


def evaluate(net: Any, feeder: Feeder) -> Evaluation:
    """Mean loss, accuracy and the predicted class of every sample (inference semantics)."""
    predictions, losses = [], []
    for x, y, count in feeder.padded_batches(net.batch):
        logits = net.forward(x)[:count]
        predictions.append(logits.argmax(axis=1))
        losses.append(cross_entropy(logits, y[:count]))
    pred = np.concatenate(predictions)
    loss = float(np.concatenate(losses).mean())
    return Evaluation(loss, float((pred == feeder.split.labels).mean()), pred)


class StopSignal:
    """Turns the first SIGINT or SIGTERM into a request that the loop honours between two
    steps (so the checkpoint it writes is consistent); a second one acts as usual."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignal:
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        signal.signal(signum, self._previous[signum])

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""


class MetricsLog:
    """metrics.jsonl: one JSON object per line ("start", "step", "epoch", "stop", "end")."""

    def __init__(self, path: Path | None, append: bool) -> None:
        self.records: list[dict[str, Any]] = []
        self._file: TextIO | None = None
        if path is None:
            return
        if path.is_dir():
            raise NetcError(f"--log {path}: is a folder; name a file (e.g. {path}/metrics.jsonl)")
        if append and path.is_file():
            self.records = read_metrics(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a" if append else "w", encoding="utf-8")
        except OSError as err:
            raise NetcError(f"--log {path}: cannot write: {err.strerror or err}") from None

    def write(self, event: str, **fields: Any) -> None:
        record = {"event": event, **fields}
        self.records.append(record)
        if self._file is not None:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


PLOTTED = {"step": ("step", "loss"),
           "epoch": ("epoch", "step", "train_loss", "test_loss", "train_acc", "test_acc")}
"""The numeric fields `netc plot` reads from each kind of record."""


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl file. A torn last line is skipped, and so is any line
    that is not a record netc can use (the file may have been edited or be something else)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NetcError(f"{path}: not a metrics file of netc train (not UTF-8 text)") from None
    except OSError as err:
        raise NetcError(f"{path}: cannot read: {err.strerror or err}") from None
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        if _usable(record):
            records.append(record)
    return records


def _usable(record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    event = record.get("event")
    fields = PLOTTED.get(event, ()) if isinstance(event, str) else ()
    values = [record.get(name) for name in fields]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return False
    return event != "epoch" or record["epoch"] > 0  # the plot divides by it


@dataclass
class RunResult:
    """How a run ended: "done", "max-steps" or a signal name, and the last evaluation."""

    ended: str
    progress: Progress
    test: Evaluation | None = None
    """The evaluation at the end of the last epoch this run completed."""
    losses: list[float] = field(default_factory=list)
    saved: bool = True


class Trainer:
    """Runs epochs from `progress` to `settings.epochs` on a network compiled for training."""

    def __init__(self, net: Any, settings: Settings, train: Feeder, test: Feeder,
                 outputs: Outputs, meta: dict[str, Any], progress: Progress | None = None,
                 log: MetricsLog | None = None, echo: Callable[[str], None] | None = None,
                 train_eval: Feeder | None = None, comm: Comm | None = None) -> None:
        self.net = net
        self.settings = settings
        self.train_data = train
        self.test_data = test
        self.train_eval = train_eval if train_eval is not None else train
        """What the epoch's train accuracy is measured on (all or a fixed sample)."""
        self.out = outputs
        self.meta = meta
        self.progress = progress or Progress()
        self.log = log or MetricsLog(None, append=False)
        self.echo = echo or (lambda line: print(line, flush=True))
        self.guard = NumericsGuard(net) if outputs.check_numerics else None
        self.losses: list[float] = []
        self._warned = False
        self.last_test: Evaluation | None = None
        self.comm: Comm = comm or LocalComm()
        """The ranks training together (compiler/training/ranks.py): each takes its shard of
        every global batch; only rank 0 evaluates, prints, logs and writes checkpoints."""
        self.shard = Shard(self.comm.rank, self.comm.size)
        if not self.shard.leader:
            self.echo = lambda line: None
            self.out = replace(outputs, progress_bar=False)

    @property
    def global_batch(self) -> int:
        """The samples one step consumes over all ranks (--batch on each)."""
        return self.settings.batch * self.shard.ranks

    @property
    def batches_per_epoch(self) -> int:
        return len(self.train_data) // self.global_batch

    def run(self, stop: StopSignal | None = None) -> RunResult:
        """Trains until the last epoch, `max_steps` or a stop signal. The checkpoint is
        written at each epoch end and when a stop comes after at least one step (a stop before
        any step leaves an existing checkpoint alone: nothing changed)."""
        stop = stop or StopSignal()
        while self.progress.epoch < self.settings.epochs:
            ended = self._epoch(stop)
            if ended:
                if self.losses:
                    self.save()
                self.log.write("stop", reason=ended, **self._position())
                return RunResult(ended, self.progress, self.last_test, self.losses,
                                 saved=bool(self.losses))
        self.log.write("end", **self._position())
        return RunResult("done", self.progress, self.last_test, self.losses)

    def _position(self) -> dict[str, int]:
        p = self.progress
        return {"epochs_done": p.epoch, "batch": p.batch, "step": p.step}

    def _stop_reason(self, stop: StopSignal) -> str | None:
        """Why to stop before the next step, agreed by every rank."""
        reason = stop.name if stop.requested else None
        if self.out.max_steps is not None and self.progress.step >= self.out.max_steps:
            reason = reason or "max-steps"
        return agreed_stop(self.comm, reason)

    def _epoch(self, stop: StopSignal) -> str | None:
        """Runs the rest of the current epoch; returns why it stopped early, if it did."""
        p, nb = self.progress, self.batches_per_epoch
        order = epoch_order(len(self.train_data), self.settings.seed, p.epoch)
        batches = [self.shard.indices(order, k, self.settings.batch) for k in range(p.batch, nb)]
        bar = self._bar(nb)
        started, steps_here = time.perf_counter(), 0
        try:
            with Prefetcher(self.train_data.batch, batches) as ready:
                for x, y in ready:
                    reason = self._stop_reason(stop)
                    if reason:
                        return reason
                    loss = self._step(x, y)
                    steps_here += 1
                    self._show(bar, loss, steps_here, time.perf_counter() - started)
        finally:
            p.seconds += time.perf_counter() - started
            if bar is not None:
                bar.close()
        rate = steps_here * self.global_batch / max(time.perf_counter() - started, 1e-9)
        self._end_epoch(rate)
        return self._stop_reason(stop)

    def _step(self, x: np.ndarray, y: np.ndarray) -> float:
        p = self.progress
        if self.guard is not None:
            self.guard.before_step()
        loss = self.net.train_step(x, y)
        if self.guard is not None:
            where = f"step {p.step + 1} (epoch {p.epoch + 1}, batch {p.batch + 1})"
            self.guard.after_step(loss, x, y, where)
        if not math.isfinite(loss) and not self._warned:
            self._warned = True
            logger.warning("the loss is %s at step %d; --check-numerics stops there and names the "
                        "op that produced it", loss, p.step + 1)
        p.step += 1
        p.batch += 1
        p.loss_sum += loss
        self.losses.append(loss)
        if p.step % self.out.log_every == 0:
            self.log.write("step", epoch=p.epoch + 1, batch=p.batch, step=p.step, loss=loss)
        return loss

    def _bar(self, total: int) -> Any:
        if self.out.progress_bar is False:
            return None
        from tqdm import tqdm

        return tqdm(total=total, initial=self.progress.batch, unit="batch", leave=False,
                    desc=f"epoch {self.progress.epoch + 1}/{self.settings.epochs}",
                    disable=None if self.out.progress_bar is None else False,
                    dynamic_ncols=True, file=sys.stderr)

    def _show(self, bar: Any, loss: float, steps: int, seconds: float) -> None:
        if bar is None:
            return
        if steps % 10 == 0:
            rate = steps * self.global_batch / max(seconds, 1e-9)
            bar.set_postfix_str(f"loss {loss:.4f}, {rate:,.0f} img/s", refresh=False)
        bar.update(1)

    def _end_epoch(self, rate: float) -> None:
        if self.shard.leader:  # the other ranks go on to the next epoch's first step
            self._report_epoch(rate)
        p = self.progress
        p.epoch, p.batch, p.loss_sum, p.seconds = p.epoch + 1, 0, 0.0, 0.0
        self.save()

    def _report_epoch(self, rate: float) -> None:
        p = self.progress
        train_eval = evaluate(self.net, self.train_eval)
        self.last_test = evaluate(self.net, self.test_data)
        self.last_test.epoch = p.epoch + 1
        record = {"epoch": p.epoch + 1, "step": p.step,
                  "train_loss": p.loss_sum / max(p.batch, 1), "train_acc": train_eval.accuracy,
                  "train_acc_images": len(self.train_eval),
                  "test_loss": self.last_test.loss, "test_acc": self.last_test.accuracy,
                  "seconds": round(p.seconds, 3), "images_per_s": round(rate, 1)}
        self.log.write("epoch", **record)
        self.echo(format_epoch(record, self.settings.epochs))

    def save(self) -> None:
        if not self.shard.leader:
            return
        meta = {**self.meta, "settings": asdict(self.settings),
                "progress": asdict(self.progress)}
        checkpoint.save(self.out.checkpoint, dict(self.net.params.items()),
                        dict(self.net.state.items()), meta)


def format_epoch(r: dict[str, Any], epochs: int) -> str:
    """The one line printed at the end of each epoch."""
    width = len(str(epochs))
    return (f"epoch {r['epoch']:{width}d}/{epochs}  train loss {r['train_loss']:.4f}  "
            f"train acc {r['train_acc']:.2%}  test loss {r['test_loss']:.4f}  "
            f"test acc {r['test_acc']:.2%}  {r['seconds']:.1f} s  "
            f"{r['images_per_s']:,.0f} img/s")


def settings_from(meta: dict[str, Any]) -> Settings:
    """The settings a checkpoint was trained with."""
    fields = Settings.__dataclass_fields__
    return Settings(**{k: v for k, v in meta.get("settings", {}).items() if k in fields})


def progress_from(meta: dict[str, Any]) -> Progress:
    """Where the run stored in a checkpoint stands."""
    fields = Progress.__dataclass_fields__
    return Progress(**{k: v for k, v in meta.get("progress", {}).items() if k in fields})
