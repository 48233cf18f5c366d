"""The estimator registry (decorator, plugins) and the protocol fingerprint."""

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
