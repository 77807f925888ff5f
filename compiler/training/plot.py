"""Loss and accuracy curves of a run as a PNG, from its metrics records.

Where it sits: `netc train --plot FILE` and `netc plot METRICS.jsonl`. matplotlib is an
optional extra (`pip install 'netc[plot]'`); without it, asking for a plot is a one-line error
before any training starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ir.errors import NetcError

MISSING = ("--plot needs matplotlib, which is not installed: pip install 'netc[plot]' "
           "(or pip install matplotlib)")


class PlotError(NetcError):
    """A plot cannot be made (matplotlib missing, nothing to plot, unwritable file)."""


def require_matplotlib() -> None:
    """Fails early, before hours of training, when the plot could not be drawn at the end."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotError(MISSING) from None


def _series(records: list[dict[str, Any]], steps_per_epoch: float) -> dict[str, Any]:
    steps = [r for r in records if r.get("event") == "step"]
    epochs = [r for r in records if r.get("event") == "epoch"]
    return {
        "step_x": [r["step"] / steps_per_epoch for r in steps],
        "step_loss": [r["loss"] for r in steps],
        "epoch_x": [r["epoch"] for r in epochs],
        "train_loss": [r["train_loss"] for r in epochs],
        "test_loss": [r["test_loss"] for r in epochs],
        "train_acc": [100 * r["train_acc"] for r in epochs],
        "test_acc": [100 * r["test_acc"] for r in epochs],
    }


def steps_per_epoch(records: list[dict[str, Any]]) -> float:
    """From the first epoch record (epoch 1 ends at step = batches per epoch)."""
    first = next((r for r in records if r.get("event") == "epoch"), None)
    return float(first["step"] / first["epoch"]) if first and first["step"] else 1.0


def plot_curves(records: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Writes a two-panel PNG: losses (per logged step and per epoch) and accuracies."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = _series(records, steps_per_epoch(records))
    if not s["step_loss"] and not s["epoch_x"]:
        raise PlotError("nothing to plot yet: the metrics have no step or epoch records")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax_loss.plot(s["step_x"], s["step_loss"], lw=0.6, alpha=0.5, label="train (batch)")
    ax_loss.plot(s["epoch_x"], s["train_loss"], "o-", label="train (epoch mean)")
    ax_loss.plot(s["epoch_x"], s["test_loss"], "s-", label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.plot(s["epoch_x"], s["train_acc"], "o-", label="train")
    ax_acc.plot(s["epoch_x"], s["test_acc"], "s-", label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    except OSError as err:
        raise PlotError(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        plt.close(fig)
    return path
