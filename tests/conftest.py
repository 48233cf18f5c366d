"""Shared fixtures. Real data comes from SUITE_DATA_DIR (CI points it at ../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from suite import paths


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = paths.data_dir()
    if not (path / "nb201" / "nb201_ground_truth.csv").is_file():
        pytest.skip(f"real data not found under {path}; set {paths.DATA_DIR_ENV} (e.g. ../shared/data)")
    return path


@pytest.fixture(scope="session")
def nb201(data_dir):
    from suite.benchmarks import get_benchmark

    return get_benchmark("nb201").load(data_dir)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """A session cache: CIFAR-10 is decoded once per test session (or reused from SUITE_CACHE_DIR)."""
    if os.environ.get(paths.CACHE_DIR_ENV):
        return paths.cache_dir()
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def cifar(data_dir, cache_dir):
    from suite.data.cifar10 import load_cifar10_train

    if not list((data_dir / "cifar10" / "plain_text").glob("train-*.parquet")):
        pytest.skip("CIFAR-10 parquet not in the data directory")
    return load_cifar10_train(data_dir, cache_dir)


@pytest.fixture(scope="session", autouse=True)
def signing_key(tmp_path_factory) -> Path:
    """A throwaway Ed25519 key for the session (every `suite run` signs its results); never a real one."""
    from suite.keys import KEY_ENV, generate_key

    path, _ = generate_key(tmp_path_factory.mktemp("keys") / "signing_key", "test-session")
    previous = os.environ.get(KEY_ENV)
    os.environ[KEY_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(KEY_ENV, None)
    else:
        os.environ[KEY_ENV] = previous


@pytest.fixture(scope="session")
def signers_file(tmp_path_factory, signing_key) -> Path:
    """An allowed_signers file trusting the session key."""
    path = tmp_path_factory.mktemp("trust") / "allowed_signers"
    path.write_text(f"tester {(signing_key.parent / (signing_key.name + '.pub')).read_text()}")
    return path


@pytest.fixture(scope="session")
def signed_file(nb201, signing_key, tmp_path_factory) -> Path:
    """A real signed result: params on a 40-architecture NB201 sample, signed with the session key."""
    from suite.keys import load_private_key
    from suite.runner import RunOptions, RunSpec, execute
    from suite.signing import write_signed_result

    [result] = execute([RunSpec("nb201", "params", sample=40)], RunOptions(progress="none"), loaded=nb201).results
    return write_signed_result(result, tmp_path_factory.mktemp("signed") / "params.json", load_private_key(signing_key))


def result_path(directory, seed: int = 20):
    """The one result file of ``seed`` that a run wrote into ``directory`` (``<out-dir>/<benchmark>/<estimator>``):
    its name follows the one rule, ``seed<S>[-sample<n>]-<config8>.json``."""
    found = sorted(Path(directory).glob(f"seed{seed}-*.json")) + sorted(Path(directory).glob(f"seed{seed}.json"))
    assert len(found) == 1, f"expected one seed{seed} result in {directory}, found {[p.name for p in found]}"
    return found[0]
