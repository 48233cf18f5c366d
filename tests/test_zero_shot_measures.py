"""The zero-shot measures against hand-computed and independently computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from estimators.zero_shot import measures as M


def _linear(weight: np.ndarray) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight))
    return layer


@pytest.fixture
def linear_case():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(3, 4))
    x = rng.normal(size=(5, 4))
    y = np.array([0, 2, 1, 1, 0])
    return w, x, y


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_gradient_measures_of_a_linear_classifier_match_the_closed_form(linear_case):
    w, x, y = linear_case
    logits = x @ w.T
    dlogits = (_softmax(logits) - np.eye(3)[y]) / len(y)  # d mean-CE / d logits
    grad = dlogits.T @ x
    fisher = 0.5 * np.mean((logits * dlogits) ** 2, axis=0).sum()
    got = M.labelled_pass(_linear(w), torch.as_tensor(x), torch.as_tensor(y), set(M.LABELLED) - {"grasp"})
    assert got["grad_norm"] == pytest.approx(np.linalg.norm(grad), rel=1e-12)
    assert got["snip"] == pytest.approx(np.abs(w * grad).sum(), rel=1e-12)
    assert got["plain"] == pytest.approx((w * grad).sum(), rel=1e-12)
    assert got["fisher"] == pytest.approx(fisher, rel=1e-12)


def test_grasp_matches_an_explicit_hessian(linear_case):
    w, x, y = linear_case
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)

    def loss(flat):
        return nn.functional.cross_entropy(xt @ flat.view(3, 4).T, yt)

    flat = torch.as_tensor(w).flatten()
    hessian = torch.autograd.functional.hessian(loss, flat).numpy()
    g = torch.autograd.functional.jacobian(loss, flat).numpy()
    expected = -(w.flatten() * (hessian @ g)).sum()
    got = M.labelled_pass(_linear(w), xt, yt, {"grasp"})["grasp"]
    assert got == pytest.approx(expected, rel=1e-10)


def test_fisher_hooks_do_not_count_the_grasp_backward(linear_case):
    w, x, y = linear_case
    alone = M.labelled_pass(_linear(w), torch.as_tensor(x), torch.as_tensor(y), {"fisher"})
    together = M.labelled_pass(_linear(w), torch.as_tensor(x), torch.as_tensor(y), {"fisher", "grasp"})
    assert together["fisher"] == alone["fisher"]


def test_passes_leave_no_hooks_and_no_grads(linear_case):
    w, x, y = linear_case
    model = nn.Sequential(_linear(w), nn.ReLU())
    M.labelled_pass(model, torch.as_tensor(x), torch.as_tensor(y), set(M.LABELLED))
    M.input_pass(model, torch.as_tensor(x), set(M.INPUT))
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
    assert all(p.grad is None for p in model.parameters())


def test_synflow_of_a_linear_chain_is_depth_times_the_flow():
    # For a bias-free linear chain every layer's |W * dR/dW| sums to R (synaptic flow is conserved).
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5, bias=False), nn.Linear(5, 4, bias=False), nn.Linear(4, 2, bias=False))
    w1, w2, w3 = (m.weight.detach().double().abs().numpy() for m in model)
    flow = (w3 @ w2 @ w1 @ np.ones(6)).sum()
    assert M.synflow(model, input_shape=(1, 6)) == pytest.approx(3 * flow, rel=1e-12)
    assert all(m.weight.dtype == torch.float32 for m in model)  # the model itself is untouched


def test_synflow_removes_batchnorm_unless_asked_to_keep_it():
    torch.manual_seed(0)
    with_bn = nn.Sequential(nn.Linear(6, 5, bias=False), nn.BatchNorm1d(5), nn.Linear(5, 2, bias=False))
    without = nn.Sequential(with_bn[0], nn.Identity(), with_bn[2])
    assert M.synflow(with_bn, input_shape=(1, 6)) == M.synflow(without, input_shape=(1, 6))
    assert isinstance(with_bn[1], nn.BatchNorm1d)


def _reference_jacob_cov(jacobian: np.ndarray) -> float:
    corr = np.corrcoef(jacobian)
    eigenvalues = np.linalg.eig(corr)[0].real
    return float(-np.sum(np.log(eigenvalues + 1e-5) + 1.0 / (eigenvalues + 1e-5)))


def test_jacob_cov_uses_per_sample_input_gradients():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 3)).double()
    x = torch.randn(6, 3, 5, 5, dtype=torch.float64)
    rows = [torch.autograd.functional.jacobian(lambda v: model(v).sum(), x[i : i + 1]).flatten().numpy()
            for i in range(6)]
    expected = _reference_jacob_cov(np.stack(rows))
    got = M.input_pass(model, x, {"jacob_cov"})["jacob_cov"]
    assert got == pytest.approx(expected, rel=1e-9)


def test_jacob_cov_of_an_input_independent_network_is_nan():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2)).double()
    with torch.no_grad():
        model[1].weight.zero_()
    assert math.isnan(M.input_pass(model, torch.randn(4, 3, 2, 2, dtype=torch.float64), {"jacob_cov"})["jacob_cov"])


def test_relu_logdet_matches_the_two_gram_definition():
    x = torch.tensor([[1.0, -2.0, 3.0], [-1.0, -1.0, 2.0], [0.5, 1.0, -3.0], [2.0, 2.0, 2.0]])
    model = nn.Sequential(nn.ReLU(), nn.Linear(3, 3), nn.ReLU())
    with torch.no_grad():
        hidden = model[1](torch.relu(x))
    kernel = np.zeros((4, 4))
    for pre in (x.numpy(), hidden.numpy()):
        c = (pre > 0).astype(float)
        kernel += c @ c.T + (1 - c) @ (1 - c).T
    got = M.input_pass(model, x, {"relu_logdet"})["relu_logdet"]
    assert got == pytest.approx(np.linalg.slogdet(kernel)[1], rel=1e-12)


def test_relu_count_counts_calls_not_modules():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(2, 2), relu, nn.Linear(2, 2), relu)
    assert M.relu_count(model, input_shape=(1, 2)) == 2
