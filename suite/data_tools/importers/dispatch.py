"""``suite data import NAME --from PATH...``: one entry point for the importers.

Each benchmark's official release is read by its importer and written as the suite's table at the
benchmark's path in the data directory (with its provenance sidecar).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from suite.benchmarks import get_benchmark
from suite.data.checksums import sha256_file
from suite.data.manifest import NB201_GROUND_TRUTH
from suite.data_tools.importers import nb101, nb201, nb301, nds
from suite.errors import UsageError

#: benchmark name -> (what --from takes, whether --surrogate is needed)
IMPORTS: dict[str, tuple[str, bool]] = {
    "nb201": ("the NATS-Bench topology release (NATS-tss-v1_0-3ffb9-simple folder or .pickle.pbz2) or "
              "NAS-Bench-201-v1_1-096897.pth", False),
    "nb101": ("the official NAS-Bench-101 .tfrecord (nasbench_full or nasbench_only108)", False),
    "nb301": ("a list of DARTS genotypes (.txt one per line, .csv with a genotype column, or .json)", True),
    "nds-resnet": ("ResNet_rng1.json ResNet_rng2.json ResNet_rng3.json of the NDS release", False),
    "nds-resnexta": ("ResNeXt-A.json of the NDS release", False),
}


def run_import(name: str, sources: Sequence[Path], data_dir: Path, surrogate: Path | None = None,
               overwrite: bool = False, trust_pickle: bool = False) -> Path:
    """Build benchmark ``name``'s table from ``sources`` into ``data_dir``; returns the table's path.

    Args:
        trust_pickle: nb201 only: allow the official API to unpickle the release (it runs code).

    Raises:
        UsageError: unknown name, wrong number of sources, an existing table without ``overwrite``,
            nb201 without ``trust_pickle`` (or ``trust_pickle`` for another benchmark).
        DataError: from the importer (the file and entry at fault); for nb201 also a build that
            differs from the protocol's pinned table (written beside it as ``*.imported.csv``).
    """
    if name not in IMPORTS:
        raise UsageError(f"no importer for {name!r}; importable: {', '.join(IMPORTS)}")
    what, needs_surrogate = IMPORTS[name]
    counts = {"nds-resnet": 3, "nb101": 1, "nds-resnexta": 1, "nb301": 1, "nb201": 1}
    if len(sources) != counts[name]:
        raise UsageError(f"{name} imports from {what}: give --from {counts[name]} time(s), got {len(sources)}")
    if needs_surrogate and surrogate is None:
        raise UsageError(f"{name} also needs --surrogate: the NAS-Bench-301 v1.0 ensemble folder (nb_models_1.0/xgb_v1.0)")
    if not needs_surrogate and surrogate is not None:
        raise UsageError(f"{name} takes no --surrogate")
    if name == "nb201":
        return _import_nb201(Path(sources[0]), Path(data_dir), overwrite, trust_pickle)
    if trust_pickle:
        raise UsageError(f"{name} takes no --trust-pickle (only nb201's release is a pickle)")
    digests = [sha256_file(p) for p in sources]
    if len(set(digests)) != len(digests):
        raise UsageError(f"{name}: two --from files have the same content; give each official file once")
    out_path = Path(data_dir) / get_benchmark(name).gt_file.relpath
    if out_path.exists() and not overwrite:
        raise UsageError(f"{out_path} exists; pass --overwrite to rebuild it")
    if name == "nb101":
        nb101.import_nb101(nb101.load_official_api(sources[0]), out_path, sources=sources)
    elif name == "nb301":
        sidecar = nb301.import_nb301(nb301.read_genotype_list(sources[0]), nb301.load_official_predictor(surrogate), out_path,
                                     sources=sources)
        # the GT is the ensemble's: record every file of it (relative path -> sha256)
        record = json.loads(sidecar.read_text())
        record["surrogate_files"] = {str(p.relative_to(surrogate)): sha256_file(p)
                                     for p in sorted(Path(surrogate).rglob("*")) if p.is_file()}
        sidecar.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    elif name == "nds-resnet":
        nds.import_nds_resnet(sources, out_path)
    else:
        nds.import_nds_resnexta(sources[0], out_path)
    return out_path


def _import_nb201(source: Path, data_dir: Path, overwrite: bool, trust_pickle: bool) -> Path:
    if not trust_pickle:  # before anything reads the release
        raise UsageError(nb201.PICKLE_REFUSAL)
    out_path = data_dir / NB201_GROUND_TRUTH.relpath
    if out_path.exists() and not overwrite:
        raise UsageError(f"{out_path} exists; pass --overwrite to rebuild it")
    return nb201.import_nb201(nb201.load_official_api(source, trust_pickle=True), data_dir, sources=[source])
