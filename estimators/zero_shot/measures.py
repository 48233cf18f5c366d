"""The zero-shot measures as passes over one network, each pass serving every measure it can.

Definitions follow ../shared/reference/FACTS.md (sums run over the weights of every ``Conv2d``
and ``Linear``; biases are not included):

=============  ==============================================================================
grad_norm      sum over layers of ||dL/dW||_2 (L = mean cross-entropy of a labelled batch)
snip           sum |W * dL/dW|
plain          sum W * dL/dW
fisher         per output channel of each layer: 0.5 * mean over the batch of
               (sum over positions of activation * dL/dactivation)^2, summed
grasp          sum -W * (H g), g = dL/dW, Hg = d(g_detached . g)/dW (a second backward)
jacob_cov      J = d(sum of logits)/d(input) per sample; v = eigenvalues of corrcoef(J);
               -sum(log(v + 1e-5) + 1 / (v + 1e-5))
relu_logdet    NASWOT: K = sum over ReLUs of c c^T + (1-c)(1-c)^T, c = (ReLU input > 0)
               per sample; log|det K|
synflow        |params| in float64, input = ones [1, 3, 32, 32], R = sum(logits);
               sum |W * dR/dW|; BN removed (``synflow_bn`` keeps it)
relu           number of ReLU applications in one forward pass of one sample
=============  ==============================================================================

Passes: :func:`labelled_pass` (one forward, one backward; a second backward when grasp is asked
for) serves grad_norm, snip, plain, fisher and grasp; :func:`input_pass` (one forward, and one
backward to the input when jacob_cov is asked for) serves jacob_cov and relu_logdet.
All sums are accumulated in float64. Networks stay in training mode (BN uses batch statistics).
Hooks are registered for one pass and always removed, so nothing outlives a call.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LABELLED = ("grad_norm", "snip", "plain", "fisher", "grasp")
INPUT = ("jacob_cov", "relu_logdet")
DATA_FREE = ("synflow", "synflow_bn", "relu")
ALL_MEASURES = LABELLED + INPUT + DATA_FREE

#: The constant in jacob_cov's score (keeps log and 1/x finite for zero eigenvalues).
JACOB_COV_EPS = 1e-5


def weighted_layers(model: nn.Module) -> list[nn.Module]:
    """Every Conv2d and Linear of ``model``, in module order (the layers the measures sum over)."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _f64_sum(tensor: torch.Tensor) -> float:
    return float(tensor.detach().to(torch.float64).sum())


def labelled_pass(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                  measures: set[str] | frozenset[str]) -> dict[str, float]:
    """grad_norm, snip, plain, fisher and/or grasp from one labelled forward/backward.

    Args:
        model: the network, in training mode; its ``.grad`` fields are not touched.
        images: float32 [N, 3, H, W] normalised images.
        labels: int64 [N] class indices.
        measures: which of :data:`LABELLED` to compute.

    Returns:
        measure -> value (float; inf/nan when gradients explode).
    """
    wanted = set(measures) & set(LABELLED)
    if not wanted:
        return {}
    layers = weighted_layers(model)
    weights = [layer.weight for layer in layers]
    fisher = [0.0]
    with _fisher_hooks(layers, fisher, enabled="fisher" in wanted) as tensor_handles:
        loss = F.cross_entropy(model(images), labels)
        grads = torch.autograd.grad(loss, weights, create_graph="grasp" in wanted, allow_unused=True)
        for handle in tensor_handles:  # the grasp backward must not feed fisher again
            handle.remove()
    pairs = [(w, g) for w, g in zip(weights, grads) if g is not None]
    out: dict[str, float] = {}
    if "grad_norm" in wanted:
        out["grad_norm"] = float(sum(float(g.detach().to(torch.float64).norm()) for _, g in pairs))
    if "snip" in wanted:
        out["snip"] = float(sum(_f64_sum((w.detach().double() * g.detach().double()).abs()) for w, g in pairs))
    if "plain" in wanted:
        out["plain"] = float(sum(_f64_sum(w.detach().double() * g.detach().double()) for w, g in pairs))
    if "fisher" in wanted:
        out["fisher"] = fisher[0]
    if "grasp" in wanted:
        z = sum((g.detach() * g).sum() for _, g in pairs)
        used = [w for w, _ in pairs]
        hessian_grads = torch.autograd.grad(z, used, allow_unused=True)
        out["grasp"] = float(sum(
            _f64_sum(-(w.detach().double() * hg.double())) for w, hg in zip(used, hessian_grads) if hg is not None
        ))
    return out


@contextlib.contextmanager
def _fisher_hooks(layers: list[nn.Module], total: list[float], enabled: bool) -> Iterator[list]:
    """Forward hooks that attach a gradient hook to each layer's output; the gradient hook adds the
    layer's Fisher term to ``total[0]``. Yields the list of tensor-hook handles (filled during the
    forward) so the caller can detach them before any further backward."""
    tensor_handles: list = []
    if not enabled:
        yield tensor_handles
        return

    def on_forward(_module, _inputs, output):
        activation = output.detach()

        def on_grad(grad):
            product = activation * grad.detach()
            per_channel = product.sum(dim=tuple(range(2, product.dim()))) if product.dim() > 2 else product
            total[0] += _f64_sum(per_channel.double().pow(2).mean(0).mul(0.5))

        tensor_handles.append(output.register_hook(on_grad))

    module_handles = [layer.register_forward_hook(on_forward) for layer in layers]
    try:
        yield tensor_handles
    finally:
        for handle in module_handles:
            handle.remove()
        for handle in tensor_handles:
            handle.remove()


def input_pass(model: nn.Module, images: torch.Tensor, measures: set[str] | frozenset[str]) -> dict[str, float]:
    """jacob_cov and/or relu_logdet from one forward (with a backward to the input for jacob_cov).

    Args:
        model: the network, in training mode.
        images: float32 [N, 3, H, W]; N >= 2.
        measures: which of :data:`INPUT` to compute.
    """
    wanted = set(measures) & set(INPUT)
    if not wanted:
        return {}
    n = images.shape[0]
    kernel = torch.zeros(n, n, dtype=torch.float64, device=images.device)
    with _relu_code_hooks(model, kernel, enabled="relu_logdet" in wanted):
        if "jacob_cov" in wanted:
            x = images.detach().clone().requires_grad_(True)
            logits = model(x)
            (jacobian,) = torch.autograd.grad(logits.sum(), x)
        else:
            with torch.no_grad():
                model(images)
    out: dict[str, float] = {}
    if "jacob_cov" in wanted:
        out["jacob_cov"] = jacob_cov_score(jacobian.reshape(n, -1).detach().to("cpu", torch.float64).numpy())
    if "relu_logdet" in wanted:
        out["relu_logdet"] = float(torch.linalg.slogdet(kernel.cpu())[1])
    return out


@contextlib.contextmanager
def _relu_code_hooks(model: nn.Module, kernel: torch.Tensor, enabled: bool) -> Iterator[None]:
    """Pre-hooks on every nn.ReLU adding its binary-code kernel to ``kernel`` [N, N] (float64).

    With c [N, D] the codes and s = c.sum(1), c c^T + (1-c)(1-c)^T = 2 c c^T - s_i - s_j + D:
    one matmul per ReLU, in float32, exact because every entry is an integer below 2^24.
    """
    if not enabled:
        yield
        return

    def on_relu(_module, inputs):
        codes = (inputs[0].detach() > 0).flatten(1).to(torch.float32)
        if codes.shape[1] >= 2**24:
            raise ValueError("a ReLU input of 2^24 or more units per sample overflows the exact float32 kernel")
        sums = codes.sum(1).double()
        gram = (codes @ codes.T).double()
        kernel.add_(2 * gram - sums[:, None] - sums[None, :] + codes.shape[1])

    handles = [m.register_forward_pre_hook(on_relu) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def jacob_cov_score(jacobian: np.ndarray) -> float:
    """Score of a per-sample input Jacobian ``jacobian`` float64 [N, D] (see the module table).

    ``corrcoef`` of a sample whose Jacobian is constant is NaN, and so is the score then.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(jacobian)
    if not np.all(np.isfinite(corr)):
        return float("nan")
    eigenvalues = np.linalg.eigvalsh(corr)  # symmetric: real eigenvalues, ascending
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.sum(np.log(eigenvalues + JACOB_COV_EPS) + 1.0 / (eigenvalues + JACOB_COV_EPS)))


def synflow(model: nn.Module, keep_bn: bool = False, input_shape: tuple[int, ...] = (1, 3, 32, 32)) -> float:
    """Synaptic flow of ``model`` (which is left untouched: the pass runs on a float64 copy).

    Args:
        keep_bn: keep BatchNorm layers (``synflow_bn``); by default they are replaced by identities.
        input_shape: the all-ones input's shape.
    """
    net = copy.deepcopy(model)
    if not keep_bn:
        _remove_batchnorm(net)
    net = net.double()
    with torch.no_grad():
        for param in net.parameters():
            param.abs_()
    layers = weighted_layers(net)
    weights = [layer.weight for layer in layers]
    device = weights[0].device if weights else torch.device("cpu")
    ones = torch.ones(input_shape, dtype=torch.float64, device=device)
    grads = torch.autograd.grad(net(ones).sum(), weights, allow_unused=True)
    return float(sum(_f64_sum((w.detach() * g).abs()) for w, g in zip(weights, grads) if g is not None))


def _remove_batchnorm(model: nn.Module) -> None:
    for name, child in model.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(model, name, nn.Identity())
        else:
            _remove_batchnorm(child)


def relu_count(model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 32, 32)) -> int:
    """Number of nn.ReLU calls in one forward of one input; runs on the model's device (meta works)."""
    calls = [0]

    def on_relu(_module, _inputs):
        calls[0] += 1

    handles = [m.register_forward_pre_hook(on_relu) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
        with torch.no_grad():
            model(torch.zeros(input_shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return calls[0]
