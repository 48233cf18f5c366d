"""One-shot (OS) scores: each architecture evaluated with the supernet's shared weights.

The scoring images are the protocol's [40000, 50000), in order, with the test transform: every
architecture sees the same batches. Dropout is off. BN uses each batch's own statistics by
default (the study's choice: running statistics gathered while many architectures trained fit
none of them); ``bn="eval"`` uses the running statistics instead. Batch-statistics scoring leaves
the supernet's buffers untouched, so the order in which architectures are scored cannot matter.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

BN_MODES = ("train", "eval")


@contextmanager
def scoring_mode(model: nn.Module, bn: str) -> Iterator[None]:
    """Dropout off; BN on batch statistics without updating running ones (``train``) or on the
    running statistics (``eval``). Restores the modules' modes afterwards."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m, m.training, getattr(m, "track_running_stats", None)) for m in model.modules()]
    try:
        model.eval()
        if bn == "train":
            for m in norms:
                m.train()
                m.track_running_stats = False  # batch statistics, and no update of the running ones
        yield
    finally:
        for m, training, track in saved:
            m.training = training
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.track_running_stats = track


@torch.no_grad()
def os_values(model: nn.Module, archs, batches: list[tuple[torch.Tensor, torch.Tensor]], kind: str,
              bn: str = "train") -> np.ndarray:
    """float64 [n_archs, n_batches]: per batch, the accuracy (``acc``, fraction correct) or the
    negated mean cross-entropy (``loss``) of each architecture with the shared weights."""
    out = np.empty((len(archs), len(batches)), dtype=np.float64)
    with scoring_mode(model, bn):
        for i, arch in enumerate(archs):
            for j, (x, y) in enumerate(batches):
                logits = model(x, arch)
                if kind == "acc":
                    out[i, j] = float((logits.argmax(dim=1) == y).double().mean())
                else:
                    out[i, j] = -float(F.cross_entropy(logits.double(), y))
    return out
