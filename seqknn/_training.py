"""The one training loop shared by every seqknn model.

A model only provides a function ``objective(indices) -> (loss, parts)`` that
gathers the minibatch with those sample indices, runs the module and returns the
loss with its named terms. The loop owns the optimiser (Adam, as the paper, with
decoupled weight decay), the minibatches, the learning-rate schedule, early
stopping with the best weights restored, the history, the progress bar and the
check for a diverging loss.
"""

import copy
import math
import sys
from collections import defaultdict

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from tqdm.auto import tqdm

from ._warnings import warn


def resolve_batch_size(batch_size, n_samples):
    """The minibatch size for ``n_samples`` training samples.

    ``"auto"`` is ``n_samples // 16`` clipped to [32, 256]: about 16 or more
    steps per epoch on small data, so that epoch-based early stopping and the
    learning-rate schedule see many updates, and batches of 256 on large data,
    where they are fast.
    """
    if batch_size == "auto":
        batch_size = min(256, max(32, n_samples // 16))
    return max(1, min(batch_size, n_samples))


def minibatches(indices, batch_size):
    """Split ``indices`` into consecutive minibatches of ``batch_size``.

    A last batch of a single sample is merged into the one before, because batch
    normalisation cannot compute statistics in training mode from one sample.
    """
    batches = list(torch.split(indices, batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def train_module(
    module,
    objective,
    train_indices,
    val_indices=None,
    *,
    score=None,
    monitor="val_loss",
    learning_rate,
    batch_size,
    max_epochs,
    n_iter_no_change,
    tol,
    weight_decay=0.0,
    optimizer=None,
    lr_schedule="constant",
    spike_factor=2.0,
    generator=None,
    warn_max_epochs=True,
    verbose=0,
    description="training",
):
    """Train ``module`` with Adam on minibatches of ``train_indices``.

    Parameters
    ----------
    module : torch.nn.Module
        Trained in place; with ``val_indices`` it holds, on return, the weights
        of the epoch with the best ``monitor`` value, else the last weights.
    objective : callable
        ``objective(indices)`` returns ``(loss, parts)`` for the samples with those
        indices (a LongTensor on the module's device); ``parts`` maps the names of
        the loss terms to detached scalars.
    train_indices, val_indices : LongTensor
        Sample indices to train on and to monitor early stopping on. Without
        validation indices the training loss is monitored and the last weights
        are kept, but an epoch whose training loss exceeds ``spike_factor``
        times the best so far (a spike) is undone: the best weights are
        reloaded and the learning rate is halved. With them, the best
        weights are restored.
    score : callable, optional
        ``score(val_indices)`` returns a validation score (higher is better),
        recorded as ``"val_score"``.
    monitor : str, default="val_loss"
        The history entry early stopping watches: ``"val_score"`` is
        maximised, any other validation entry (``"val_loss"``,
        ``"val_<term>"``) minimised. Without validation data the training
        loss is watched.
    learning_rate, batch_size, max_epochs, n_iter_no_change, tol
        Optimisation settings; training stops after ``n_iter_no_change`` epochs
        in which the monitored loss did not improve by more than ``tol``.
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW); 0 is plain Adam.
    optimizer : torch.optim.Optimizer, optional
        The optimiser to step, e.g. one whose state continues an earlier
        call; by default a new :func:`make_optimizer` with ``learning_rate``
        and ``weight_decay``.
    lr_schedule : {"constant", "plateau"}, default="constant"
        ``"plateau"`` halves the learning rate whenever the monitored value
        has not improved for ``max(1, n_iter_no_change // 3)`` epochs.
    spike_factor : float, default=2.0
        Without validation data, an epoch whose mean training loss exceeds
        this many times the best so far is undone (see ``train_indices``).
    generator : torch.Generator, optional
        CPU generator of the minibatch order (torch's global RNG if None).
    warn_max_epochs : bool, default=True
        Warn (``ConvergenceWarning``) when training ends at ``max_epochs``
        while the monitored value was still improving.
    verbose : int
        Show a tqdm progress bar over epochs with the current losses, and
        say at the end why training stopped and which epoch's weights were
        kept.

    Returns
    -------
    history : dict of str to list of float
        Per epoch: ``"loss"`` and each term of ``parts`` on the training data,
        and ``"val_loss"``, the validation terms (``"val_<name>"``) and
        ``"val_score"`` when there is validation data.
    n_epochs : int
        Number of epochs run.
    """
    if optimizer is None:
        optimizer = make_optimizer(module, learning_rate, weight_decay)
    history = defaultdict(list)
    validate = val_indices is not None and len(val_indices) > 0
    best_loss, best_state, best_epoch, stale, rollbacks = math.inf, None, 0, 0, 0
    first_loss = None
    decay_every = max(1, n_iter_no_change // 3)
    epochs = tqdm(range(max_epochs), desc=description, disable=not verbose)

    n_epochs = 0
    for epoch in epochs:
        n_epochs = epoch + 1
        module.train()
        order = torch.randperm(len(train_indices), generator=generator)
        totals = _Averages()
        for batch in minibatches(
            train_indices[order.to(train_indices.device)], batch_size
        ):
            loss, parts = objective(batch)
            if first_loss is None:
                first_loss = float(loss.detach())  # the untrained network's: one sync
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            totals.add(len(batch), loss=loss.detach(), **parts)
        for name, value in totals.means().items():
            history[name].append(value)
        # Checked once per epoch: a per-batch check would synchronise the GPU.
        _check_divergence(history["loss"][-1], first_loss, n_epochs, learning_rate)

        monitored = history["loss"][-1]
        if validate:
            module.eval()
            val_totals = _Averages()
            with torch.no_grad():
                for batch in minibatches(val_indices, max(batch_size, 1024)):
                    loss, parts = objective(batch)
                    val_totals.add(len(batch), loss=loss, **parts)
            for name, value in val_totals.means().items():
                history[f"val_{name}"].append(value)
            if score is not None:
                history["val_score"].append(float(score(val_indices)))
            monitored = history[monitor][-1]
            if monitor == "val_score":
                monitored = -monitored
        if verbose:
            shown = {k: v[-1] for k, v in history.items() if k != "val_score"}
            epochs.set_postfix({k: f"{v:.4g}" for k, v in shown.items()})

        if monitored < best_loss - tol:
            best_loss, best_epoch, stale = monitored, n_epochs, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            stale += 1
            if not validate and monitored > spike_factor * best_loss + tol:
                # Without validation the last weights are kept, and a spike can
                # throw the network where it does not recover within the
                # patience (MNkNN_VEC on cover-type data): undo it. With
                # validation the best weights are restored at the end anyway.
                module.load_state_dict(best_state)
                rollbacks += 1
                _halve_learning_rate(optimizer)
        if stale >= n_iter_no_change:
            break
        if lr_schedule == "plateau" and stale and stale % decay_every == 0:
            _halve_learning_rate(optimizer)
    epochs.close()
    if validate and best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    watched = monitor if validate else "loss"
    kept = f"epoch {best_epoch}'s weights" if validate else "the last weights"
    if rollbacks:
        kept += f" ({rollbacks} loss spike(s) undone)"
    if stale >= n_iter_no_change:
        message = (
            f"{description} stopped early at epoch {n_epochs}: {watched} did not "
            f"improve by tol={tol} for {n_iter_no_change} epochs; kept {kept}."
        )
    else:
        message = f"{description} ran all {max_epochs} epochs; kept {kept}."
        if warn_max_epochs and stale == 0:
            warn(
                f"{description} reached max_epochs={max_epochs} while {watched} "
                "was still improving. Increase max_epochs for a better fit.",
                ConvergenceWarning,
            )
    if verbose:
        tqdm.write(message, file=sys.stderr)
    return dict(history), n_epochs


def _halve_learning_rate(optimizer):
    for group in optimizer.param_groups:
        group["lr"] *= 0.5


# A mean training loss this many times that of the untrained network (or 1,
# if larger) has blown up: training lowers the loss, and a network that
# merely stopped learning stays near where it started.
_BLOW_UP = 1e3


def _check_divergence(loss, first_loss, epoch, learning_rate):
    """Raise if the epoch's mean training loss is not finite or has blown up."""
    if not math.isfinite(loss):
        what = f"the training loss became {loss} in epoch {epoch}"
    elif loss > _BLOW_UP * max(first_loss, 1.0):
        what = (
            f"the mean training loss grew to {loss:.4g} in epoch {epoch}, from "
            f"{first_loss:.4g} for the untrained network"
        )
    else:
        return
    raise ValueError(
        f"Training diverged: {what}. Lower learning_rate (now {learning_rate}) "
        "or the loss weights (alpha, vector_weight)."
    )


def make_optimizer(module, learning_rate, weight_decay):
    """AdamW, fused into one kernel per step where this torch build has it.

    The fused step is about 3x faster than the per-tensor loop on a CPU, which
    counts with the small networks here (torch >= 2.4 on CPU and CUDA).
    """
    settings = {"lr": learning_rate, "weight_decay": weight_decay}
    try:
        return torch.optim.AdamW(module.parameters(), fused=True, **settings)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(module.parameters(), **settings)


def to_cpu(state):
    """A copy of a (nested) state dict with every tensor on the CPU, to pickle."""
    if isinstance(state, torch.Tensor):
        return state.detach().cpu().clone()
    if isinstance(state, dict):
        return {k: to_cpu(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(to_cpu(v) for v in state)
    return copy.deepcopy(state)


class _Averages:
    """Sample-weighted running means of named scalar tensors, synced once."""

    def __init__(self):
        self.sums = {}
        self.count = 0

    def add(self, n, **values):
        self.count += n
        for name, value in values.items():
            self.sums[name] = self.sums.get(name, 0.0) + value * n

    def means(self):
        # One device-to-host transfer per epoch instead of one per batch.
        names = list(self.sums)
        stacked = torch.stack([torch.as_tensor(self.sums[k]) for k in names])
        values = (stacked / self.count).cpu().numpy().astype(np.float64)
        return dict(zip(names, values.tolist(), strict=True))
