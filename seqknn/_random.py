"""Random numbers of one fit, drawn from its own generators.

torch's layers draw their initial weights and dropout masks from the global
RNG, which every thread of the process shares: two fits in two threads
(joblib's threading backend, Dask thread workers) would interleave their draws,
and seeding it would change the caller's own random state. Every random draw
of a fit therefore comes from generators made for that fit from its
``random_state``: the initial weights (:func:`build_module`), the dropout
masks (:func:`dropout`), the minibatch order and the memory draws.
"""

import math
import threading

import numpy as np
import torch
from torch import nn

# Serialises the fallback initialisation below, which must use the global RNG.
_GLOBAL_RNG_LOCK = threading.Lock()


def make_generators(rng, device):
    """A CPU generator and one on ``device``, seeded from the numpy ``rng``.

    The CPU generator draws what must not depend on the device (the initial
    weights, the minibatch order), so that a fit gives the same network on
    any device up to floating-point rounding; the device generator draws
    what is drawn on the device (dropout masks, memory draws).
    """
    seeds = rng.randint(np.iinfo(np.int32).max, size=2)
    cpu = torch.Generator().manual_seed(int(seeds[0]))
    if device.type == "cpu":
        return cpu, torch.Generator().manual_seed(int(seeds[1]))
    return cpu, torch.Generator(device=device).manual_seed(int(seeds[1]))


def build_module(build, generator):
    """``build()``'s module, with initial weights drawn from ``generator``.

    The module is built on torch's meta device, where constructing layers draws
    no random numbers, then made real on the CPU and initialised as torch's
    defaults do: ``nn.Linear`` and ``nn.LSTMCell`` weights and biases from
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) and U(-1/sqrt(hidden), 1/sqrt(hidden)),
    ``nn.Embedding`` from N(0, 1), normalisation layers deterministically.
    Other layers (added by a subclass) are reset from torch's global RNG,
    seeded from ``generator`` under a lock and restored afterwards.
    """
    with torch.device("meta"):
        module = build()
    module.to_empty(device="cpu")
    for layer in module.modules():
        own = [*layer.parameters(recurse=False), *layer.buffers(recurse=False)]
        if isinstance(layer, nn.Linear):
            bound = 1 / math.sqrt(layer.in_features) if layer.in_features else 0
            for param in own:
                _uniform(param, bound, generator)
        elif isinstance(layer, nn.LSTMCell):
            for param in own:
                _uniform(param, 1 / math.sqrt(layer.hidden_size), generator)
        elif isinstance(layer, nn.Embedding):
            with torch.no_grad():
                layer.weight.normal_(generator=generator)
        elif isinstance(layer, (nn.modules.batchnorm._NormBase, nn.LayerNorm)):
            layer.reset_parameters()  # ones and zeros: nothing random
        elif own and hasattr(layer, "reset_parameters"):
            seed = int(torch.randint(2**62, (1,), generator=generator))
            with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                layer.reset_parameters()
        elif own:
            raise TypeError(
                f"Cannot initialise the layer {type(layer).__name__}: it has "
                "parameters or buffers but no reset_parameters method."
            )
    return module


def _uniform(param, bound, generator):
    with torch.no_grad():
        param.uniform_(-bound, bound, generator=generator)


def dropout(x, layer, generator=None):
    """``layer(x)`` for an ``nn.Dropout`` ``layer``, with masks from ``generator``.

    ``nn.Dropout`` cannot take a generator. The layer still says whether
    dropout is on (``layer.training``) and its rate ``layer.p``; without a
    generator the global RNG is used, as ``nn.Dropout`` does.
    """
    if not layer.training or layer.p == 0:
        return x
    if layer.p == 1:
        return torch.zeros_like(x)
    keep = torch.empty_like(x).bernoulli_(1 - layer.p, generator=generator)
    return x * keep / (1 - layer.p)
