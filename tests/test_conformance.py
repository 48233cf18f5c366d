"""Every registered estimator passes the contract check (new estimators are covered automatically)."""

from __future__ import annotations

import dataclasses
import re
import sys
import typing
from pathlib import Path

import numpy as np
import pytest
import torch

from suite.conformance import check_estimator
from suite.estimator import Capabilities, Estimator
from suite.registry import list_estimators
from suite.spaces import nb201


#: Configs that keep an estimator quick without changing its contract (one-shot: a tiny supernet
#: trained for two epochs on 128 images).
_TINY_SUPERNET = {"epochs": 2, "snapshots": "1,2", "train_images": 128, "batch_size": 64, "init_channels": 4,
                  "cells_per_stage": 1, "score_batches": 1, "score_batch_size": 32}
SMALL = {"oneshot": _TINY_SUPERNET,
         "closenet": {**_TINY_SUPERNET, "curriculum": "1,2", "restart_epoch": 2}}


@pytest.mark.parametrize("cls", list_estimators(), ids=lambda c: c.name)
def test_registered_estimator_conforms(cls, data_dir, cache_dir):
    archs = nb201.sample_archs(np.random.default_rng(1), 4)
    # small batches keep the data-dependent zero-shot estimators quick; the contract is the same
    config = {"batch_size": 4} if "batch_size" in {f.name for f in dataclasses.fields(cls.Config)} else None
    config = SMALL.get(cls.name, config)
    check_estimator(cls, nb201.NB201, archs, config=config, data_dir=data_dir, cache_dir=cache_dir)


def test_the_check_catches_a_broken_estimator():
    class Shuffled(Estimator):
        name, family, summary = "shuffled", "baseline", "order-dependent"

        def score(self, archs, ctx, snapshot="final"):
            return np.arange(len(archs), dtype=np.float64)  # depends on position, not architecture

    with pytest.raises(AssertionError, match="declared deterministic"):
        check_estimator(Shuffled, nb201.NB201, nb201.sample_archs(np.random.default_rng(0), 3))


def test_the_check_catches_components_without_combine():
    class Uncombined(Estimator):
        name, family, summary = "uncombined", "baseline", "names components, never combines them"
        capabilities = Capabilities(components=True)

        def components(self, space_name):
            return ("a", "b")

        def score(self, archs, ctx, snapshot="final"):
            return np.zeros((len(archs), 2))

    with pytest.raises(AssertionError, match="does not override combine"):
        check_estimator(Uncombined, nb201.NB201, nb201.sample_archs(np.random.default_rng(0), 3))


def _archs():
    return nb201.sample_archs(np.random.default_rng(0), 3)


class _Base(Estimator):
    family, summary = "baseline", "a test estimator"

    def score(self, archs, ctx, snapshot="final"):
        return np.array([float(ctx.space.param_count(a)) for a in archs])


@dataclasses.dataclass(frozen=True)
class _Options:
    k: int = 1


def _broken_estimators():
    """(estimator class, fragment of the error check_estimator must raise)."""

    class Undeclared(_Base):
        name = "undeclared"

        def snapshots(self):
            return ["a", "b"]

    class Unimplemented(_Base):
        name = "unimplemented"
        capabilities = Capabilities(state_hashes=True)

    class BadChunk(_Base):
        name = "bad-chunk"
        capabilities = Capabilities(chunk_size=0)

    class DrawsInInit(_Base):
        name = "draws"

        def __init__(self, **config):
            super().__init__(**config)
            torch.rand(1)

    class ReadsInInit(_Base):
        name = "reads"

        def __init__(self, **config):
            super().__init__(**config)
            Path(__file__).read_bytes()

    class StoresMore(_Base):
        name = "stores-more"

        def __init__(self, **config):
            super().__init__(**config)
            self.cache = {}

    class MutatesInput(_Base):
        name = "mutates"
        Config = _Options

        @classmethod
        def resolve_config(cls, config, space_name):
            config.setdefault("k", 2)
            return super().resolve_config(config, space_name)

    class Impure(_Base):
        name = "impure"
        Config = _Options
        calls = 0

        @classmethod
        def resolve_config(cls, config, space_name):
            cls.calls += 1
            return cls.Config(k=cls.calls)

    class Float32(_Base):
        name = "float32"

        def score(self, archs, ctx, snapshot="final"):
            return super().score(archs, ctx).astype(np.float32)

    @dataclasses.dataclass(frozen=True)
    class Untyped:
        k: typing.Any = 1

    class UntypedConfig(_Base):
        name = "untyped"
        Config = Untyped

    @dataclasses.dataclass(frozen=True)
    class Required:
        k: int

    class RequiredOption(_Base):
        name = "required"
        Config = Required

    return [(Undeclared, "overrides snapshots but does not declare Capabilities(snapshots=True)"),
            (Unimplemented, "declares state_hashes but does not override state_hashes"),
            (BadChunk, "chunk_size must be None or an int >= 1"),
            (DrawsInInit, "draws.__init__ drew from torch's global RNG"),
            (ReadsInInit, "reads.__init__ opened"),
            (StoresMore, "__init__ must only store the config, but it also set ['cache']"),
            (MutatesInput, "resolve_config changed its input"),
            (Impure, "resolve_config gave two configs for one input"),
            (Float32, "scores must be a float64 numpy array"),
            (UntypedConfig, "option 'k' needs a type"),
            (RequiredOption, "option 'k' needs a default")]


@pytest.mark.parametrize("cls, fragment", _broken_estimators(), ids=lambda x: getattr(x, "name", ""))
def test_the_check_names_the_broken_rule(cls, fragment):
    with pytest.raises(AssertionError, match=re.escape(fragment)):
        check_estimator(cls, nb201.NB201, _archs())


def test_the_check_reports_each_rule_it_passed():
    from estimators.baselines import Params

    lines = check_estimator(Params, nb201.NB201, _archs())
    assert [line.split(":")[0] for line in lines] == [
        "metadata", "config", "capabilities", "construction", "resolve_config", "scores", "determinism"]


def test_resolve_config_returns_a_new_config_and_leaves_its_input(data_dir):
    from suite.registry import get_estimator_class

    cls = get_estimator_class("snip")
    given = {"batches": 2}
    resolved = cls.resolve_config(given, "nb201")
    assert given == {"batches": 2} and resolved == cls.Config(batches=2)
    assert cls.for_space("nb201", given).get_config() == {"preset": "study", "batches": 2, "batch_size": 128}


CHECK_ME = '''
import numpy as np
from suite.estimator import Estimator

class Depthless(Estimator):
    name, family, summary = "depthless", "baseline", "parameter count, from a plugin"

    def score(self, archs, ctx, snapshot="final"):
        return np.array([float(ctx.space.param_count(a)) for a in archs])

class Shuffled(Depthless):
    name = "shuffled"

    def score(self, archs, ctx, snapshot="final"):
        return np.arange(len(archs), dtype=np.float64)
'''


def test_the_cli_checks_a_module_class_beside_you(tmp_path, monkeypatch, capsys, data_dir, cache_dir):
    from suite.cli import main

    (tmp_path / "check_me.py").write_text(CHECK_ME)
    monkeypatch.chdir(tmp_path)
    common = ["--n", "3", "--data-dir", str(data_dir), "--cache-dir", str(cache_dir)]
    try:
        assert main(["check-estimator", "check_me:Depthless", *common]) == 0
        out, _ = capsys.readouterr()
        assert out.count("\nok  ") == 6 and out.startswith("ok  metadata") and "follows the estimator contract" in out
        assert main(["check-estimator", "check_me:Shuffled", *common]) == 1
        out, err = capsys.readouterr()
        assert "ok  scores" in out and "determinism" not in out
        assert err.count("\n") == 1 and err.startswith("error: check-estimator: shuffled[final]: declared deterministic")
        assert main(["check-estimator", "check_me:Missing", *common]) == 2
        assert capsys.readouterr().err == "error: module 'check_me' has no 'Missing'\n"
    finally:
        sys.modules.pop("check_me", None)
