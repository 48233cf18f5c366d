"""NAS-Bench-301: genotypes + the official v1.0 surrogate ensemble -> the suite's ground-truth table.

NB301 is a surrogate benchmark: there is no table of trained architectures to import, only a
predictor. The ground truth (FACTS.md) is the v1.0 performance ensemble's prediction WITHOUT
noise (``SurrogateAPI.predict(config, representation="genotype", with_noise=False)``, the mean of
the ensemble members): CIFAR-10 validation accuracy in %, column ``val_acc_surrogate``.

The architectures come from a genotype list (:func:`read_genotype_list`); entries outside the NB301
space (other ops such as ``none``, a node reading one input twice, other concats) are dropped,
entries that map to the same canonical genotype are pooled (their predictions averaged: with the
noise-free surrogate they are equal anyway, as it keys edges by input node) and the standard
subset (``select_subset``, 5,896 architectures) is taken from the pool.

The official package (``pip install nasbench301``, with its model files ``nb_models_1.0/xgb_v1.0``)
is only needed by :func:`load_official_predictor`; any object with the same ``predict`` works.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.data_tools.importers.common import select_subset, write_ground_truth
from suite.errors import DataError
from suite.spaces.nb301 import NB301, CONCAT, Nb301Arch, OutsideSpaceError

#: The standard subset size of the protocol (FACTS.md).
SUBSET_SIZE = 5896
GT_COLUMN = "val_acc_surrogate"

#: The genotype type the official API expects (the fields of DARTS' / nasbench301's Genotype).
Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")


def to_genotype(arch: Nb301Arch) -> Genotype:
    """The DARTS ``Genotype`` namedtuple of ``arch`` (lists of ``(op, input)`` tuples, concat [2, 3, 4, 5])."""
    return Genotype(normal=[tuple(p) for p in arch.normal], normal_concat=list(CONCAT),
                    reduce=[tuple(p) for p in arch.reduce], reduce_concat=list(CONCAT))


def read_genotype_list(path: str | Path) -> list[str]:
    """Genotype strings from a file, in file order.

    Formats (by suffix):
        ``.csv``: a column ``genotype`` (DARTS ``Genotype(...)`` strings) or else ``compact``
            (NB301's compact form, converted to the Genotype string);
        ``.json``: a list whose items are Genotype strings, or objects with a ``genotype`` key;
        anything else: text, one Genotype string per line (blank lines and ``#`` comments skipped).

    Raises:
        DataError: a missing file or an unknown layout, naming the file and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: genotype list not found; give a .txt, .csv or .json file of DARTS genotypes")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise DataError(f"{path}: not a readable CSV ({err}); fix the file") from None
        if "genotype" in table.columns:
            return table["genotype"].tolist()
        if "compact" in table.columns:
            out = []
            for row, text in enumerate(table["compact"]):
                try:
                    out.append(NB301.format(NB301.from_compact(text)))
                except ValueError as err:
                    raise DataError(f"{path}: row {row} (compact): {err}; fix or remove that row") from None
            return out
        raise DataError(f"{path}: the CSV has no 'genotype' or 'compact' column; add one")
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DataError(f"{path}: not valid JSON ({err}); fix the file") from None
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a JSON list of genotype strings or {{'genotype': ...}} objects")
        out = []
        for i, item in enumerate(data):
            if isinstance(item, dict) and isinstance(item.get("genotype"), str):
                out.append(item["genotype"])
            elif isinstance(item, str):
                out.append(item)
            else:
                raise DataError(f"{path}: entry {i} is neither a genotype string nor an object with a "
                                "'genotype' string; fix or remove it")
        return out
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err}); give one genotype per line") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def load_official_predictor(path: str | Path) -> Any:
    """The official NB301 v1.0 performance ensemble (``nasbench301.load_ensemble(path)``).

    Args:
        path: the ensemble folder, e.g. ``nb_models_1.0/xgb_v1.0`` of the official model download.
    Raises:
        DataError: the package is not installed, or the folder holds no ensemble.
    """
    try:
        import nasbench301  # noqa: PLC0415  # deferred: optional, heavy nasbench301
    except ImportError:
        raise DataError("the nasbench301 package is not installed; `pip install nasbench301` (with its "
                        "surrogate dependencies) and download the v1.0 models, then pass nb_models_1.0/xgb_v1.0"
                        ) from None
    path = Path(path)
    if not path.is_dir() or not any(path.rglob("*surrogate_model.model")):
        raise DataError(f"{path}: no NB301 surrogate ensemble here (no *surrogate_model.model files); pass the "
                        "folder nb_models_1.0/xgb_v1.0 of the official v1.0 model download")
    try:
        return nasbench301.load_ensemble(str(path))
    except Exception as exc:  # the official loader's errors are its dependencies' (xgboost, lightgbm, ...)
        raise DataError(f"{path}: nasbench301 cannot load the ensemble ({type(exc).__name__}: {exc})") from None


def import_nb301(genotypes: Iterable[str], predictor: Any, out_path: str | Path, size: int = SUBSET_SIZE,
                 sources: Sequence[str | Path] = ()) -> Path:
    """Write the NB301 ground-truth table from genotype strings and the surrogate ensemble.

    Args:
        genotypes: DARTS Genotype strings (e.g. :func:`read_genotype_list`); entry i is named
            "entry i" in errors.
        predictor: an object with the official ``predict(config=Genotype, representation="genotype",
            with_noise=False) -> float`` (validation accuracy in %), e.g. :func:`load_official_predictor`.
        out_path: the CSV to write (its ``.json`` sidecar goes next to it).
        size: the subset size (the protocol's 5,896).
        sources: the files the genotypes came from (their sha256 is recorded).
    Returns:
        The sidecar's path.
    Raises:
        DataError: a malformed entry, a failed or non-finite prediction, a prediction outside
            [0, 100], or too few architectures in the space.
    """
    pooled: dict[str, list[float]] = {}
    archs: dict[str, Nb301Arch] = {}
    entries = dropped = 0
    for entry, text in enumerate(genotypes):
        entries += 1
        try:
            arch = NB301.parse(text)
        except OutsideSpaceError:
            dropped += 1
            continue
        except ValueError as err:
            raise DataError(f"genotype entry {entry}: {err}; fix or remove that entry") from None
        try:
            value = float(predictor.predict(config=to_genotype(arch), representation="genotype",
                                            with_noise=False))
        except DataError:
            raise
        except Exception as err:  # noqa: BLE001 - a third-party predictor may raise anything
            raise DataError(f"genotype entry {entry}: the surrogate failed ({type(err).__name__}: {err}); "
                            "check the predictor and its model files") from None
        if not np.isfinite(value) or not 0.0 <= value <= 100.0:
            raise DataError(f"genotype entry {entry}: the surrogate predicted {value}, not an accuracy in "
                            "[0, 100] %; is it the v1.0 performance (not runtime) ensemble?")
        key = NB301.canonical(arch)
        archs.setdefault(key, arch)
        pooled.setdefault(key, []).append(value)
    keys = list(pooled)
    positions = select_subset(keys, size)
    chosen = [keys[i] for i in positions]
    table = pd.DataFrame({
        "arch": [NB301.format(archs[k]) for k in chosen],
        "key": chosen,
        GT_COLUMN: [float(np.mean(pooled[k])) for k in chosen],
    })
    duplicates = sum(len(v) - 1 for v in pooled.values())
    extra = {
        "benchmark": "nb301",
        "ground_truth": {GT_COLUMN: "CIFAR-10 validation accuracy (%) predicted by the NAS-Bench-301 v1.0 "
                                    "surrogate ensemble without noise (mean of its members)"},
        "predictor": type(predictor).__module__ + "." + type(predictor).__qualname__,
        "with_noise": False,
        "entries": entries,
        "dropped_outside_space": dropped,
        "pool": len(keys),
        "duplicates_merged": duplicates,
        "dedupe_rule": "entries with the same canonical genotype (node pairs sorted by input) are one pool "
                       "member; its ground truth is the mean of their predictions",
    }
    return write_ground_truth(table, Path(out_path), [GT_COLUMN], [Path(p) for p in sources], extra)
