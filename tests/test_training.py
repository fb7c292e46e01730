"""The shared training loop."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

import seqknn
import seqknn._base
import seqknn._training
from seqknn._device import resolve_device
from seqknn._training import minibatches, resolve_batch_size, train_module


def test_minibatches_never_leave_a_single_sample():
    sizes = [len(b) for b in minibatches(torch.arange(9), 4)]
    assert sizes == [4, 5]
    assert [len(b) for b in minibatches(torch.arange(8), 4)] == [4, 4]
    assert [len(b) for b in minibatches(torch.arange(1), 4)] == [1]


def test_auto_batch_size_gives_many_steps_on_small_data():
    assert resolve_batch_size("auto", 100) == 32
    assert resolve_batch_size("auto", 1600) == 100
    assert resolve_batch_size("auto", 10**6) == 256
    assert resolve_batch_size("auto", 20) == 20
    assert resolve_batch_size(512, 100) == 100
    assert resolve_batch_size(64, 1000) == 64


@pytest.fixture
def optimizers(monkeypatch):
    """The optimisers ``train_module`` creates, to read their learning rate."""
    made = []
    make = seqknn._training.make_optimizer
    monkeypatch.setattr(
        seqknn._training,
        "make_optimizer",
        lambda *args: made.append(make(*args)) or made[-1],
    )
    return made


@pytest.mark.parametrize("schedule", ["plateau", "constant"])
def test_plateau_schedule_halves_the_learning_rate(schedule, optimizers):
    module = torch.nn.Linear(1, 1)
    seen = []

    def objective(idx):
        seen.append(optimizers[0].param_groups[0]["lr"])
        # A constant loss: no epoch improves on the first.
        return (module(torch.ones(len(idx), 1)) * 0).sum() + 1.0, {}

    _, n_epochs = train_module(
        module,
        objective,
        torch.arange(4),
        learning_rate=0.1,
        batch_size=4,
        max_epochs=7,
        n_iter_no_change=6,
        tol=0.0,
        lr_schedule=schedule,
    )
    assert n_epochs == 7
    # Halved after every 2 stale epochs (n_iter_no_change // 3).
    expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    assert seen == pytest.approx(expected if schedule == "plateau" else [0.1] * 7)


def test_best_weights_are_restored():
    torch.manual_seed(0)
    module = torch.nn.Linear(2, 1)
    x, target = torch.randn(20, 2), torch.randn(20, 1)

    def objective(idx):
        loss = (module(x[idx]) - target[idx]).square().mean()
        return loss, {}

    # The validation score peaks at epoch 2; record the weights of every epoch.
    scores = iter([0.1, 0.9, 0.5, 0.4, 0.3, 0.2])
    snapshots = []

    def score(idx):
        snapshots.append(module.weight.detach().clone())
        return next(scores)

    history, n_epochs = train_module(
        module,
        objective,
        torch.arange(16),
        torch.arange(16, 20),
        score=score,
        monitor="val_score",
        learning_rate=0.1,
        batch_size=4,
        max_epochs=6,
        n_iter_no_change=3,
        tol=0.0,
    )
    assert n_epochs == 5
    assert history["val_score"] == [0.1, 0.9, 0.5, 0.4, 0.3]
    torch.testing.assert_close(module.weight.detach(), snapshots[1])
    assert not torch.equal(snapshots[1], snapshots[-1])


@pytest.mark.parametrize(
    "spike_factor, calm, spike", [(2.0, 1.9, 2.1), (1.4, 1.3, 1.5)]
)
def test_loss_spike_is_undone_without_validation(optimizers, spike_factor, calm, spike):
    # Without validation data the last weights are kept, but an epoch whose
    # training loss is more than spike_factor times the best is undone: the
    # best weights come back and the learning rate is halved.
    module = torch.nn.Linear(2, 1)
    x = torch.randn(8, 2)
    losses = iter([5.0, 3.0, 1.0, calm, spike, 1.2, 1.2, 1.2])
    starts, rates = [], []  # per epoch (one batch per epoch)

    def objective(idx):
        starts.append(module.weight.detach().clone())
        rates.append(optimizers[0].param_groups[0]["lr"])
        # Adam moves the weights by about lr whatever the gradient's scale.
        return next(losses) + 1e-3 * module(x[idx]).sum(), {}

    _, n_epochs = train_module(
        module,
        objective,
        torch.arange(8),
        learning_rate=0.1,
        batch_size=8,
        max_epochs=20,
        n_iter_no_change=5,
        tol=0.0,
        spike_factor=spike_factor,
    )
    assert n_epochs == 8
    # Epoch 4 is not a spike; epoch 5 is: epoch 6 starts from the weights
    # epoch 3 ended with, at half the learning rate.
    assert not torch.equal(starts[4], starts[3])
    torch.testing.assert_close(starts[5], starts[3])
    assert rates == pytest.approx([0.1] * 5 + [0.05] * 3)
    # Training went on from there, and the last weights are kept.
    assert not torch.equal(module.weight.detach(), starts[3])


@pytest.mark.parametrize(
    "estimator, factor",
    [
        (seqknn.MNkNNClassifier(), 1.4),
        (seqknn.MNkNNVecClassifier(), 1.4),
        (seqknn.MNkNNVecSampler(), 1.4),
        (seqknn.MemN2NClassifier(), 2.0),
        (seqknn.V2LSClassifier(early_stopping=False), 2.0),
    ],
)
def test_estimators_pass_their_spike_factor(monkeypatch, estimator, factor):
    # The memory kNN networks (and the sampler built on MNkNN_VEC) undo
    # smaller jumps of the training loss than the other models.
    seen = []

    def recording(*args, **kwargs):
        seen.append(kwargs["spike_factor"])
        return train_module(*args, **kwargs)

    monkeypatch.setattr(seqknn._base, "train_module", recording)
    X, y = make_classification(
        n_samples=80, n_features=4, weights=[0.8], random_state=0
    )
    estimator.set_params(max_epochs=2, random_state=0)
    if hasattr(estimator, "fit_resample"):
        estimator.fit_resample(X, y)
    else:
        estimator.fit(X, y)
    assert seen == [factor]


def test_non_finite_loss_raises():
    module = torch.nn.Linear(1, 1)

    def objective(idx):
        return module(torch.ones(len(idx), 1)).sum() * np.nan, {}

    with pytest.raises(ValueError, match="loss became nan in epoch 1"):
        train_module(
            module,
            objective,
            torch.arange(8),
            learning_rate=0.1,
            batch_size=4,
            max_epochs=3,
            n_iter_no_change=3,
            tol=0.0,
        )


def test_resolve_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(torch.device("cpu")).type == "cpu"


@pytest.mark.parametrize("device", ["meta", "mps", "xpu", torch.device("meta")])
def test_devices_other_than_cpu_and_cuda_are_refused(device):
    with pytest.raises(ValueError, match="which seqknn does not support"):
        resolve_device(device)


def test_the_base_class_is_abstract():
    from seqknn import BaseKNNNetwork

    with pytest.raises(TypeError, match="abstract"):
        BaseKNNNetwork()


def test_gpu_index_beyond_the_visible_gpus_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="names GPU 99, but PyTorch sees 1"):
        resolve_device("cuda:99")


def test_cuda_without_a_gpu_falls_back_to_the_cpu_when_asked(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.warns(UserWarning, match="computing on the CPU instead"):
        assert resolve_device("cuda", fallback=True).type == "cpu"
