"""The estimator registry (entry points: built-in and plugins alike) and the protocol fingerprint."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from suite import protocol, registry
from suite.errors import UsageError
from suite.estimator import Estimator


def test_duplicate_names_are_refused():
    class Clash(Estimator):
        name, family = "params", "baseline"

        def score(self, archs, ctx, snapshot="final"):
            return np.zeros(len(archs))

    registry.list_estimators()
    with pytest.raises(ValueError, match="already registered"):
        registry.register_estimator(Clash)


def test_unknown_family_is_refused():
    class Odd(Estimator):
        name, family = "odd", "magic"

        def score(self, archs, ctx, snapshot="final"):
            return np.zeros(len(archs))

    with pytest.raises(ValueError, match="family"):
        registry.register_estimator(Odd)


def test_config_is_validated():
    with pytest.raises(UsageError, match="does not take"):
        registry.get_estimator_class("params")(depth=3)


def _fake_distribution(root, name, entry_point, module_source=None):
    """An installed distribution with one estimator entry point, on sys.path."""
    dist = root / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{entry_point}\n")
    if module_source is not None:
        (root / f"{name}.py").write_text(module_source)


def test_plugins_load_and_a_broken_one_only_warns(tmp_path, monkeypatch):
    good = (
        "import numpy as np\nfrom suite.estimator import Estimator\n"
        "class Depth(Estimator):\n    name, family, summary = 'plugin_depth', 'baseline', 'from a plugin'\n"
        "    def score(self, archs, ctx, snapshot='final'):\n        return np.ones(len(archs))\n"
    )
    _fake_distribution(tmp_path, "goodplugin", "plugin_depth = goodplugin:Depth", good)
    _fake_distribution(tmp_path, "badplugin", "plugin_broken = badplugin_missing:Nothing")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = [c.name for c in registry.list_estimators()]
    assert "plugin_depth" in names and "plugin_broken" not in names
    assert any("plugin_broken" in str(w.message) for w in caught)
    sys.modules.pop("goodplugin", None)


def test_fingerprint_is_stable_and_covers_every_input():
    base = protocol.fingerprint("nb201", [0, 1, 2], "cifar10_test_200", [90.0, 91.5, 80.25])
    assert base == protocol.fingerprint("nb201", [0, 1, 2], "cifar10_test_200", [90.0, 91.5, 80.25])
    assert len({
        base,
        protocol.fingerprint("nb301", [0, 1, 2], "cifar10_test_200", [90.0, 91.5, 80.25]),
        protocol.fingerprint("nb201", [0, 1, 3], "cifar10_test_200", [90.0, 91.5, 80.25]),
        protocol.fingerprint("nb201", [0, 1, 2], "cifar10valid_test_200", [90.0, 91.5, 80.25]),
        protocol.fingerprint("nb201", [0, 1, 2], "cifar10_test_200", [90.0, 91.5, 80.26]),
    }) == 5


def test_fingerprint_changes_with_the_rules(monkeypatch):
    before = protocol.fingerprint("nb201", [0], "g", [1.0])
    monkeypatch.setitem(protocol.RULES, "seeds", [1, 2, 3])
    assert protocol.fingerprint("nb201", [0], "g", [1.0]) != before


#: The plugin of docs/estimators.md, as a newcomer writes it.
SIZE_BLEND = '''
"""A toy estimator: a weighted mean of log(parameters) and log(FLOPs)."""

from dataclasses import dataclass

import numpy as np

from suite.estimator import Estimator


@dataclass(frozen=True)
class BlendConfig:
    weight: float = 0.5  # share of log(params) in the score; the rest is log(FLOPs)


class SizeBlend(Estimator):
    name = "size_blend"
    family = "baseline"
    summary = "weighted mean of log(params) and log(FLOPs) of the standalone network"
    Config = BlendConfig

    def score(self, archs, ctx, snapshot="final"):
        w, space = self.config.weight, ctx.space
        return np.array([w * np.log(space.param_count(a)) + (1 - w) * np.log(space.flop_count(a))
                         for a in archs], dtype=np.float64)
'''

#: Plugins that break the contract: one the registry refuses, one only the conformance check catches.
UNDECLARED = '''
import numpy as np
from suite.estimator import Estimator

class Budgets(Estimator):
    name, family, summary = "budgets", "baseline", "two snapshots, undeclared"

    def snapshots(self):
        return ["short", "long"]

    def score(self, archs, ctx, snapshot="final"):
        return np.zeros(len(archs))
'''
EAGER = '''
import numpy as np
import torch
from suite.estimator import Estimator

class Eager(Estimator):
    name, family, summary = "eager", "baseline", "builds its network too early"

    def __init__(self, **config):
        super().__init__(**config)
        self.head = torch.nn.Linear(4, 1)  # work in __init__: draws from torch's RNG

    def score(self, archs, ctx, snapshot="final"):
        return np.array([float(ctx.space.param_count(a)) for a in archs])
'''


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """The plugin modules on sys.path, their entry points added to the installed ones, an empty registry."""
    from importlib import metadata

    for name, source in (("size_blend", SIZE_BLEND), ("undeclared_plugin", UNDECLARED), ("eager_plugin", EAGER)):
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    installed = metadata.entry_points(group=registry.ENTRY_POINT_GROUP)
    added = [metadata.EntryPoint(name, value, registry.ENTRY_POINT_GROUP) for name, value in (
        ("size_blend", "size_blend:SizeBlend"), ("budgets", "undeclared_plugin:Budgets"), ("eager", "eager_plugin:Eager"))]

    def entry_points(group=None, **kwargs):  # other groups (pydantic's plugins) as installed
        return [*installed, *added] if group == registry.ENTRY_POINT_GROUP else real(group=group, **kwargs)

    real = metadata.entry_points

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_REGISTRY", {})
    yield
    for name in ("size_blend", "undeclared_plugin", "eager_plugin"):
        sys.modules.pop(name, None)


def test_a_plugin_is_found_by_its_entry_point_checked_run_and_verified(plugins, nb201, tmp_path, signing_key,
                                                                      signers_file, capsys):
    from suite.cli import main
    from suite.conformance import check_estimator
    from suite.keys import load_private_key
    from suite.signing import write_signed_result
    from suite.runner import RunOptions, RunSpec, execute
    from suite.spaces.nb201 import NB201, sample_archs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = [c.name for c in registry.list_estimators()]
    assert {"size_blend", "eager", "params", "vote"} <= set(names) and "budgets" not in names
    assert [str(w.message) for w in caught if "budgets" in str(w.message)] == [
        "estimator plugin 'budgets' (undeclared_plugin:Budgets) failed to load: Budgets: overrides snapshots but "
        "does not declare Capabilities(snapshots=True)"]

    cls = registry.get_estimator_class("size_blend")
    archs = sample_archs(np.random.default_rng(0), 4)
    assert len(check_estimator(cls, NB201, archs)) == 7
    with pytest.raises(AssertionError, match="eager.__init__ drew from torch's global RNG"):
        check_estimator(registry.get_estimator_class("eager"), NB201, archs)

    [result] = execute([RunSpec("nb201", "size_blend", config={"weight": 0.8}, sample=20)], RunOptions(progress="none"),
                       loaded=nb201).results
    assert result.estimator.config == {"weight": 0.8}
    path = write_signed_result(result, tmp_path / "size_blend.json", load_private_key(signing_key))
    capsys.readouterr()
    assert main(["verify", str(path), "--signers", str(signers_file)]) == 0
    assert capsys.readouterr().out.startswith("PASS")


def test_no_installed_estimator_is_a_one_line_usage_error(monkeypatch):
    from importlib import metadata

    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points", lambda group=None, **kwargs: (
        [] if group == registry.ENTRY_POINT_GROUP else real(group=group, **kwargs)))
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_REGISTRY", {})
    with pytest.raises(UsageError, match=r"no estimator is installed .* `pip install -e \.`"):
        registry.list_estimators()


def test_an_entry_point_named_otherwise_than_its_class_is_refused():
    class Named(Estimator):
        name, family, summary = "named", "baseline", "its entry point calls it otherwise"

        def score(self, archs, ctx, snapshot="final"):
            return np.zeros(len(archs))

    with pytest.raises(ValueError, match="entry point 'other' names Named, whose name is 'named'"):
        registry.register_estimator(Named, "other")


def test_builtins_are_entry_points_of_this_package():
    """One route: every built-in estimator is declared in pyproject.toml, as a plugin's would be."""
    from importlib import metadata

    from estimators.zero_shot import Vote

    declared = {ep.name: ep.value for ep in metadata.entry_points(group=registry.ENTRY_POINT_GROUP)}
    assert declared["vote"] == "estimators.zero_shot:Vote" and declared["params"] == "estimators.baselines:Params"
    assert registry.get_estimator_class("vote") is Vote
    assert {c.name for c in registry.list_estimators()} <= set(declared)
