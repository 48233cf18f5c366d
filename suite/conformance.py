"""The conformance check of the estimator contract, rule by rule (third-party plugins run it too).

    from suite.conformance import check_estimator
    check_estimator(MyEstimator, space, archs)

or, from a shell, ``suite check-estimator mypkg:MyEstimator``. Like scikit-learn's
``check_estimator`` it checks the contract, not quality: metadata; a typed Config dataclass;
declared capabilities that match the methods the class overrides; an ``__init__`` that only
stores the config (no RNG drawn, no file opened); a pure ``resolve_config``; float64 scores of
the right shape per snapshot; and, for estimators that declare themselves deterministic,
bit-identical scores for the same seed whatever the order of the architectures.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import random
import re
import sys
import typing
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from suite.estimator import FAMILIES, Estimator, RunContext, capability_errors, component_names, snapshot_labels

#: Estimator names: what a file name and a command-line value can hold.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_estimator(cls: type[Estimator], space: Any, archs: Sequence[Any], seed: int = 20,
                    config: dict[str, Any] | None = None, **context: Any) -> list[str]:
    """Raise AssertionError naming the first broken rule of the estimator contract.

    Args:
        cls: the estimator class.
        space: a search space the estimator supports.
        archs: a few architectures of that space (3 or more).
        seed: the run seed.
        config: options to construct the estimator with (default: none, its defaults).
        context: extra RunContext fields (data_dir, cache_dir) for estimators that read data.
    Returns:
        one line per rule passed, in order.
    """
    return list(iter_checks(cls, space, archs, seed, config, **context))


def iter_checks(cls: type[Estimator], space: Any, archs: Sequence[Any], seed: int = 20,
                config: dict[str, Any] | None = None, **context: Any) -> Iterator[str]:
    """:func:`check_estimator` one rule at a time: yields a line as each rule passes."""
    assert len(archs) >= 3, "give at least 3 architectures"
    yield _metadata(cls)
    yield _config_type(cls)
    errors = capability_errors(cls)
    assert not errors, f"{cls.name}: {errors[0]}"
    yield f"capabilities: {_declared(cls)}, and the methods overridden are the ones declared"
    options = dict(config or {})
    yield _construction(cls, options)
    yield _resolution(cls, options, space.name)
    resolved = cls.for_space(space.name, options).get_config()
    first, line = _scores(cls, resolved, space, archs, seed, context)
    yield line
    if not cls.deterministic:
        yield "determinism: not declared deterministic, so not checked"
        return
    again, _ = _scores(cls, resolved, space, list(archs)[::-1], seed, context)
    for label, scores in first.items():
        assert again[label][::-1].tobytes() == scores.tobytes(), (
            f"{cls.name}[{label}]: declared deterministic, but scores changed with the order or the call")
    yield "determinism: bit-identical scores for the same seed in reverse order, from a fresh instance"


def _metadata(cls: type) -> str:
    assert isinstance(cls, type) and issubclass(cls, Estimator), f"{cls!r} is not a subclass of suite.estimator.Estimator"
    assert isinstance(cls.name, str) and NAME_PATTERN.fullmatch(cls.name), (
        f"{cls.__name__}: name {cls.name!r} must be letters, digits, '_', '-' or '.'")
    assert cls.family in FAMILIES, f"{cls.name}: family {cls.family!r} is not one of {FAMILIES}"
    assert isinstance(cls.summary, str) and cls.summary.strip() and "\n" not in cls.summary, (
        f"{cls.name}: a one-line summary is required (it is shown by `suite list`)")
    assert isinstance(cls.deterministic, bool), f"{cls.name}: deterministic must be True or False"
    return f"metadata: name {cls.name!r}, family {cls.family!r}, a one-line summary"


def _config_type(cls: type[Estimator]) -> str:
    assert dataclasses.is_dataclass(cls.Config) and isinstance(cls.Config, type), (
        f"{cls.name}: Config must be a dataclass (use NoConfig for none)")
    try:
        hints = typing.get_type_hints(cls.Config)
    except Exception as exc:  # noqa: BLE001 - any unresolvable annotation is the same broken rule
        raise AssertionError(f"{cls.name}: the Config annotations do not resolve ({exc})") from None
    for f in dataclasses.fields(cls.Config):
        assert hints.get(f.name) not in (None, Any), f"{cls.name}: Config option {f.name!r} needs a type (not Any)"
        assert f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING, (
            f"{cls.name}: Config option {f.name!r} needs a default (`suite run` without -c uses them)")
    n = len(dataclasses.fields(cls.Config))
    if not n:
        return "config: no options (Config is an empty dataclass)"
    return f"config: Config is a dataclass of {n} typed option(s), each with a default"


def _construction(cls: type[Estimator], options: dict[str, Any]) -> str:
    try:
        cls(**options)  # the first construction may import lazily; the watched one below may not work
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"{cls.name}: constructing with {options} raised {type(exc).__name__}: {exc}") from None
    with _no_side_effects(f"{cls.name}.__init__"):
        estimator = cls(**options)
    extra = sorted(set(vars(estimator)) - {"config"})
    assert not extra, (f"{cls.name}: __init__ must only store the config, but it also set {extra}; derive them in "
                       "resolve_config or prepare")
    assert isinstance(estimator.config, cls.Config), f"{cls.name}: __init__ must store a {cls.Config.__name__} as config"
    config = estimator.get_config()
    assert json.loads(json.dumps(config)) == config, f"{cls.name}: the config must be JSON-serialisable"
    assert cls(**config).get_config() == config, f"{cls.name}: {cls.name}(**get_config()) must round-trip"
    return "construction: __init__ only stores the config (no RNG drawn, no file opened); get_config round-trips"


def _resolution(cls: type[Estimator], options: dict[str, Any], space_name: str) -> str:
    assert cls(**options).supports(space_name), (
        f"{cls.name} does not support the {space_name} space: check it on a benchmark of a space it supports")
    given = copy.deepcopy(options)
    try:
        with _no_side_effects(f"{cls.name}.resolve_config"):
            first = cls.resolve_config(options, space_name)
            second = cls.resolve_config(options, space_name)
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"{cls.name}: resolve_config({options}, {space_name!r}) raised "
                             f"{type(exc).__name__}: {exc}") from None
    assert options == given, f"{cls.name}: resolve_config changed its input ({given} -> {options})"
    assert isinstance(first, cls.Config), f"{cls.name}: resolve_config must return a {cls.Config.__name__}"
    assert first == second, f"{cls.name}: resolve_config gave two configs for one input ({first} vs {second})"
    recorded = cls.for_space(space_name, options).get_config()
    again = cls.for_space(space_name, recorded).get_config()
    assert again == recorded, (f"{cls.name}: the recorded config {recorded} resolves to {again} on {space_name} "
                               "(`suite verify` resolves it again and must find the same)")
    return f"resolve_config: pure (input unchanged, equal configs twice); the recorded config resolves to itself on {space_name}"


def _scores(cls: type[Estimator], config: dict[str, Any], space: Any, archs: Sequence[Any], seed: int,
            context: dict[str, Any]) -> tuple[dict[str, np.ndarray], str]:
    """Scores of a fresh, prepared instance per snapshot label, checked; and the rule's line."""
    estimator = cls.for_space(space.name, config)
    ctx = RunContext(space=space, seed=seed, **context)
    estimator.prepare(ctx)
    labels = snapshot_labels(estimator)
    assert labels and all(isinstance(x, str) and x for x in labels) and len(set(labels)) == len(labels), (
        f"{cls.name}: snapshots() must name one or more distinct labels, got {labels!r}")
    components = component_names(estimator, space.name)
    if estimator.capabilities.components:
        assert components, f"{cls.name}: declares components but names none on {space.name}"
    out = {}
    for label in labels:
        scores = estimator.score(list(archs), ctx, label)
        assert isinstance(scores, np.ndarray) and scores.dtype == np.float64, (
            f"{cls.name}[{label}]: scores must be a float64 numpy array, got {getattr(scores, 'dtype', type(scores))}")
        assert scores.ndim in (1, 2) and scores.shape[0] == len(archs), (
            f"{cls.name}[{label}]: {scores.shape} scores for {len(archs)} archs (expected [n] or [n, k])")
        if components:
            assert scores.shape == (len(archs), len(components)), (
                f"{cls.name}[{label}]: {scores.shape} values for components {components}")
            combined = estimator.combine(scores)
            assert isinstance(combined, np.ndarray) and combined.dtype == np.float64 and combined.shape == (len(archs),), (
                f"{cls.name}[{label}]: combine must return float64 [{len(archs)}], got {getattr(combined, 'shape', combined)}")
        out[label] = scores
    shapes = ", ".join(f"{label} {list(scores.shape)}" for label, scores in out.items())
    return out, f"scores: float64 of shape [n] or [n, k] per snapshot ({shapes})"


def _declared(cls: type[Estimator]) -> str:
    caps = cls.capabilities
    on = [f.name if f.type in (bool, "bool") else f"{f.name}={getattr(caps, f.name)}"
          for f in dataclasses.fields(caps) if getattr(caps, f.name) not in (False, None)]
    return f"declares {', '.join(on)}" if on else "declares none"


#: Files opened while a check watches (innermost watch last); filled by the audit hook.
_watching: list[list[str]] = []
_hooked = False


def _audit(event: str, args: tuple) -> None:
    if _watching and event == "open":
        _watching[-1].append(str(args[0]))


@contextlib.contextmanager
def _no_side_effects(what: str) -> Iterator[None]:
    """Assert that the body opens no file and draws from none of the global RNGs (python, numpy, torch)."""
    global _hooked
    if not _hooked:  # an audit hook cannot be removed: one for the process, idle unless watching
        sys.addaudithook(_audit)
        _hooked = True
    states = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    opened: list[str] = []
    _watching.append(opened)
    try:
        yield
    finally:
        _watching.pop()
    assert not opened, f"{what} opened {opened[0]!r}: do I/O in prepare (with ctx's directories), not here"
    py, np_state, torch_state = states
    assert random.getstate() == py, f"{what} drew from python's global RNG"
    now = np.random.get_state()
    assert np.array_equal(now[1], np_state[1]) and now[2:] == np_state[2:], f"{what} drew from numpy's global RNG"
    assert torch.equal(torch.get_rng_state(), torch_state), f"{what} drew from torch's global RNG (built a module?)"
