"""What a run records: where it stands (Progress, which a checkpoint stores), what it
measured (History) and the windows its figure shows (Snapshot). NumPy only: eval and
export read checkpoints without loading matplotlib.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np


PANEL_ROWS = 5  # the figure shows the first five rows of the batch, as the tutorial's does


@dataclass
class Snapshot:
    """One logged window: where it is, and the inputs, targets and outputs of the rows
    the figure shows (the first PANEL_ROWS of the batch)."""

    epoch: int
    window: int
    x: np.ndarray        # [rows, T] input symbols (adding task: [rows, T, 2] value, marker)
    y: np.ndarray        # [rows, T] targets (adding task: sums, NaN where none)
    probs: np.ndarray    # [T, rows, C] softmax outputs (adding task: [T, rows, 1] numbers)
    num_losses: int      # how many window losses the run had when this window was trained
    sample: str = ""     # text runs: what the model wrote at the end of this epoch (when the
                         # figure is shown live, animated, or it is the last epoch)
    truth: np.ndarray | None = None  # dependency task: the true P(y = 1), [batch, T]


@dataclass
class History:
    """What a run measured: one loss and accuracy per window, and per epoch its wall
    time, learning rate and (text runs) validation loss and accuracy."""

    losses: list       # per epoch: float32 [num_windows]
    accuracies: list   # per epoch: float32 [num_windows]
    seconds: list      # per epoch: wall time
    learning_rates: list = field(default_factory=list)  # per epoch: the rate it trained at
    val_losses: list = field(default_factory=list)      # per epoch (NaN: no validation part)
    val_accuracies: list = field(default_factory=list)

    @property
    def window_losses(self) -> np.ndarray:
        return np.concatenate(self.losses) if self.losses else np.zeros(0, np.float32)

    # Means over the windows that scored anything (adding task: those with an episode
    # end); [epochs], or for a population [epochs, P].
    @property
    def epoch_loss(self) -> np.ndarray:
        return np.array([np.nanmean(losses, axis=0) for losses in self.losses])

    @property
    def epoch_accuracy(self) -> np.ndarray:
        return np.array([np.nanmean(accuracies, axis=0) for accuracies in self.accuracies])


@dataclass
class Progress:
    """Where a run stands, beyond its weights: enough to continue it bit for bit.

    A population (nn/population.py) keeps the same record with a member axis after the
    window axis ([num_windows, P]); it has no random state of its own and no snapshots.
    """

    epoch: int                     # the epoch in progress (== epochs when the run is done)
    window: int                    # the next window of `epoch` to train
    rng_state: tuple | None        # numpy RandomState at the start of `epoch`
    carried_state: list            # the RNN state entering `window`: [batch, S] arrays
    epoch_losses: np.ndarray       # [num_windows] of `epoch`, filled up to `window`
    epoch_hits: np.ndarray         # [num_windows] correct predictions per window, likewise
    losses: list = field(default_factory=list)      # per finished epoch: [num_windows]
    accuracies: list = field(default_factory=list)  # per finished epoch: [num_windows]
    seconds: list = field(default_factory=list)     # per finished epoch
    snapshots: list = field(default_factory=list)   # Snapshot of logged windows
    rate_scale: float | np.ndarray = 1.0  # what --lr-decay has made of the config's rate
    learning_rates: list = field(default_factory=list)  # per finished epoch, the rate used
    val_losses: list = field(default_factory=list)      # per finished epoch, NaN without
    val_accuracies: list = field(default_factory=list)  # a validation part
    best_loss: float = float("inf")  # the lowest validation (else training) loss so far
    gradient_state: list = field(default_factory=list)  # what the gradient algorithm
                                                        # carries into `window` (nn/gradients.py)
    settings: str = ""    # the run's settings (config.json's text) it trains with; "": from
                          # before checkpoints kept them
    stale: int = 0        # epochs since the monitored loss last improved (--patience)

    @classmethod
    def start(cls, num_windows: int, zero_state: list, rng_state=None, members: tuple = (),
              gradient_state: list = ()) -> "Progress":
        """The position before a run's first window."""
        return cls(0, 0, rng_state, zero_state, np.zeros((num_windows, *members), np.float32),
                   np.zeros((num_windows, *members), np.int32),
                   gradient_state=list(gradient_state))

    def finish_epoch(self, accuracies: np.ndarray, seconds: float, rng_state=None,
                     learning_rate=None) -> None:
        """Close the epoch in progress; the next starts at window 0 from a zero state
        (and what the gradient algorithm carries, from zeros too)."""
        self.losses.append(self.epoch_losses)
        self.accuracies.append(accuracies)
        self.seconds.append(seconds)
        self.learning_rates.append(learning_rate)
        self.epoch, self.window, self.rng_state = self.epoch + 1, 0, rng_state
        self.carried_state = [np.zeros_like(part) for part in self.carried_state]
        self.gradient_state = [np.zeros_like(part) for part in self.gradient_state]
        self.epoch_losses = np.zeros_like(self.epoch_losses)
        self.epoch_hits = np.zeros_like(self.epoch_hits)

    @property
    def history(self) -> History:
        return History(self.losses, self.accuracies, self.seconds, self.learning_rates,
                       self.val_losses, self.val_accuracies)

    def to_bytes(self) -> bytes:
        snaps = self.snapshots
        finished = (len(self.losses),) + self.epoch_losses.shape
        arrays = dict(
            position=np.array([self.epoch, self.window]),
            rng_keys=self.rng_state[1], rng_pos=np.array(self.rng_state[2]),
            rng_gauss=np.array([self.rng_state[3], self.rng_state[4]], dtype=np.float64),
            epoch_losses=self.epoch_losses,
            epoch_hits=self.epoch_hits,
            # explicit shapes: a run stopped in its first epoch has no finished one
            losses=np.array(self.losses, np.float32).reshape(finished),
            accuracies=np.array(self.accuracies, np.float32).reshape(finished),
            seconds=np.array(self.seconds, np.float64),
            snap_meta=np.array([(s.epoch, s.window, s.num_losses) for s in snaps],
                               np.int64).reshape(-1, 3),
            snap_x=_symbols([s.x for s in snaps]),
            snap_y=_symbols([s.y for s in snaps]),
            snap_truth=np.array([s.truth for s in snaps if s.truth is not None], np.float32),
            snap_probs=np.array([s.probs for s in snaps], np.float32),
            snap_samples=np.array([s.sample for s in snaps], dtype=str),
            rate_scale=np.array(self.rate_scale, np.float64),
            learning_rates=np.array(self.learning_rates, np.float64),
            val_losses=np.array(self.val_losses, np.float64),
            val_accuracies=np.array(self.val_accuracies, np.float64),
            best_loss=np.array(self.best_loss, np.float64),
            **{f"carried_state_{i}": s for i, s in enumerate(self.carried_state)},
            settings=np.array(self.settings), stale=np.array(self.stale),
            **{f"gradient_state_{i}": s for i, s in enumerate(self.gradient_state)})
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Progress":
        a = np.load(io.BytesIO(data))
        epoch, window = (int(v) for v in a["position"])
        gauss = a["rng_gauss"]
        truths = list(a["snap_truth"]) if "snap_truth" in a.files else []
        snaps = [Snapshot(int(e), int(w), _unpack(x), _unpack(y), p, int(k), str(t),
                          truths[i] if i < len(truths) else None)
                 for i, ((e, w, k), x, y, p, t) in enumerate(zip(
                     a["snap_meta"], a["snap_x"], a["snap_y"], a["snap_probs"], a["snap_samples"]))]
        # A checkpoint from before rates, validation and the best loss were kept holds none:
        # its run trained at its config's rate all along.
        optional = {k: a[k] for k in ("rate_scale", "learning_rates", "val_losses",
                                      "val_accuracies", "best_loss", "settings", "stale")
                    if k in a.files}
        return cls(epoch, window,
                   ("MT19937", a["rng_keys"], int(a["rng_pos"]), int(gauss[0]), float(gauss[1])),
                   _numbered(a, "carried_state_"),
                   a["epoch_losses"], a["epoch_hits"],
                   list(a["losses"]), list(a["accuracies"]), list(a["seconds"]), snaps,
                   rate_scale=float(optional.get("rate_scale", 1.0)),
                   learning_rates=list(optional.get("learning_rates", [])),
                   val_losses=list(optional.get("val_losses", [])),
                   val_accuracies=list(optional.get("val_accuracies", [])),
                   best_loss=float(optional.get("best_loss", float("inf"))),
                   gradient_state=_numbered(a, "gradient_state_"),
                   settings=str(optional.get("settings", "")),
                   stale=int(optional.get("stale", 0)))


def _numbered(a, prefix: str) -> list:
    """The arrays stored as prefix0, prefix1, ..., in order."""
    return [a[f"{prefix}{i}"] for i in range(sum(k.startswith(prefix) for k in a.files))]


def _symbols(arrays: list) -> np.ndarray:
    """Snapshot inputs or targets as stored: int32 symbols, or float32 numbers (adding)."""
    if arrays and np.issubdtype(arrays[0].dtype, np.floating):
        return np.array(arrays, np.float32)
    return np.array(arrays, np.int32)


def _unpack(a: np.ndarray) -> np.ndarray:
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.int64)
