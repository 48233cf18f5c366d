"""Options are validated by their types and declared ranges: a bad value is one line, before any work."""

from __future__ import annotations

import dataclasses

import pytest

from suite.config_fields import Bounds, check_values, option
from suite.errors import UsageError
from suite.estimator import parse_config_items
from suite.registry import build_estimator, get_estimator_class


@pytest.mark.parametrize("name, item, message", [
    ("oneshot", "lr=nan", "option 'lr' of 'oneshot' must be a finite number, got nan"),
    ("oneshot", "lr=inf", "option 'lr' of 'oneshot' must be a finite number, got inf"),
    ("oneshot", "momentum=1e999", "option 'momentum' of 'oneshot' must be a finite number, got inf"),
    ("oneshot", "lr=-1", "option 'lr' of 'oneshot' must be > 0, got -1.0"),
    ("oneshot", "epochs=1000000000", "option 'epochs' of 'oneshot' must be <= 100000, got 1000000000"),
    ("oneshot", "momentum=1", "option 'momentum' of 'oneshot' must be < 1, got 1.0"),
    ("oneshot", "grad_clip=0", "option 'grad_clip' of 'oneshot' must be > 0, got 0.0"),
    ("closenet", "weight_decay=-0.1", "option 'weight_decay' of 'closenet' must be >= 0, got -0.1"),
    ("snip", "batches=0", "option 'batches' of 'snip' must be >= 1, got 0"),
    ("snip", "batch_size=-5", "option 'batch_size' of 'snip' must be >= 0, got -5"),
])
def test_out_of_range_options_are_one_line_usage_errors(name, item, message):
    cls = get_estimator_class(name)
    with pytest.raises(UsageError) as caught:
        build_estimator(name, parse_config_items(cls, [item]), "nb201")
    assert str(caught.value) == message


def test_the_cli_refuses_a_bad_option_before_any_work(tmp_path, capsys):
    from suite.cli import main

    code = main(["run", "-e", "oneshot", "-b", "nb201", "--sample", "3", "-c", "lr=nan", "--out-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["error: option 'lr' of 'oneshot' must be a finite number, got nan"]
    assert list(tmp_path.iterdir()) == []


def test_every_default_config_is_in_range():
    from suite.registry import list_estimators

    for cls in list_estimators():
        check_values(cls.name, cls.Config())


def test_bounds_and_option():
    @dataclasses.dataclass(frozen=True)
    class Config:
        x: float = option(0.5, gt=0, le=1)
        n: int = option(3, ge=1)
        flag: bool = True
        name: str = "a"

    check_values("toy", Config())
    check_values("toy", Config(x=1.0, n=1))
    with pytest.raises(UsageError, match="must be > 0"):
        check_values("toy", Config(x=0.0))
    with pytest.raises(UsageError, match="must be >= 1"):
        check_values("toy", Config(n=0))
    assert Bounds(lt=2).violation(2) == "must be < 2" and Bounds(ge=0).violation(0) is None
