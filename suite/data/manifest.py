"""Every data file the suite knows: where it lives in the data directory, its checksum, its origin.

A checksum here is part of the protocol: a ground-truth table whose sha256 differs from the one
shipped with the suite is refused, so two people who report on "nb201" compare against the same
numbers. CIFAR-10 is checked on its decoded content (pixels and labels), because a parquet file
re-encoded by the hub can differ byte-wise while holding the same images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

#: The suite's dataset repository on the Hugging Face hub (``suite data pull``); override with
#: ``SUITE_HUB_REPO`` / ``SUITE_HUB_REVISION`` or the command's flags.
DEFAULT_HUB_REPO = "nas-estimator-suite/data"
DEFAULT_HUB_REVISION = "v1"


@dataclass(frozen=True)
class DataFile:
    """One file of the data directory.

    Attributes:
        name: the short name users type (``suite data pull nb201``).
        relpath: path inside the data directory.
        sha256: expected sha256 of the file's bytes, or None when only ``content_sha256`` is checked.
        content_sha256: expected sha256 of the decoded content (see the loader), or None.
        hub_repo: hub dataset repository holding the file, None for the suite's own.
        how_to_get: a one-line hint printed when the file is missing or corrupt.
        kind: ``dataset``, ``ground truth`` or ``partial ground truth`` (``suite data list``).
        size: the pinned file's size in bytes, None when not pinned. For ``cifar10`` it is the size
            of the known parquet file, informational only (the content is what is checked).
        hub_path: the file's path inside ``hub_repo`` when it differs from ``relpath`` (a third-party
            repository's own layout); None means ``relpath``.
    """

    name: str
    relpath: str
    sha256: str | None
    content_sha256: str | None
    hub_repo: str | None
    how_to_get: str
    kind: str = "ground truth"
    size: int | None = None
    hub_path: str | None = None

    @property
    def path_in_repo(self) -> str:
        """Where the file lives in its hub repository."""
        return self.hub_path or self.relpath

    @property
    def imported(self) -> bool:
        """True for a table built by ``suite data import`` and checked against its provenance sidecar."""
        return self.sha256 is None and self.content_sha256 is None


CIFAR10_TRAIN = DataFile(
    name="cifar10",
    relpath="cifar10/plain_text/train-00000-of-00001.parquet",
    sha256=None,
    # sha256 of images (uint8, N x 32 x 32 x 3, C order) followed by labels (int64 little-endian).
    content_sha256="67e12c2a5906880a4fe5595fe6d768185ad7ca587f35d3a7ece3c3b8b85035d2",
    hub_repo="uoft-cs/cifar10",
    how_to_get="run `suite data pull cifar10` (downloads plain_text/train-*.parquet from the hub "
    "repo uoft-cs/cifar10) or copy that file into the data directory",
    kind="dataset",
    size=114_139_346,
    hub_path="plain_text/train-00000-of-00001.parquet",
)

NB201_GROUND_TRUTH = DataFile(
    name="nb201",
    relpath="nb201/nb201_ground_truth.csv",
    sha256="8c46d06f9a5ed04abfb6643a15e53fbcd1b953a74b2273ea09a35c87fcaac1e1",
    content_sha256=None,
    hub_repo=None,
    how_to_get="run `suite data pull nb201` (the suite's hub dataset repository) or build it with "
    "`suite data import nb201 --from NATS-tss-v1_0-3ffb9-simple --trust-pickle`",
    size=3_645_380,
)

# The four standard tables below are built here from the official releases by `suite data import`
# (suite/data_tools/importers/); their sha256 is not pinned because those releases are not reachable from
# where this suite was written. Each import writes a provenance sidecar (<table>.json) with the
# table's sha256 and the sources' sha256s, which the loader checks; every result also carries the
# protocol fingerprint over the subset ids and the GT values, so results of different imports never
# compare as equal.
NB101_GROUND_TRUTH = DataFile(
    name="nb101",
    relpath="nb101/nb101_ground_truth.csv",
    sha256=None,
    content_sha256=None,
    hub_repo=None,
    how_to_get="build it with `suite data import nb101 --from nasbench_full.tfrecord` (the official "
    "NAS-Bench-101 release; needs the `nasbench` package) or run `suite data pull nb101`",
)
NB301_GROUND_TRUTH = DataFile(
    name="nb301",
    relpath="nb301/nb301_ground_truth.csv",
    sha256=None,
    content_sha256=None,
    hub_repo=None,
    how_to_get="build it with `suite data import nb301 --from GENOTYPES --surrogate nb_models_1.0/xgb_v1.0` "
    "(the NAS-Bench-301 v1.0 surrogate ensemble; needs the `nasbench301` package) or run `suite data pull nb301`",
)
NDS_RESNET_GROUND_TRUTH = DataFile(
    name="nds-resnet",
    relpath="nds/nds_resnet_ground_truth.csv",
    sha256=None,
    content_sha256=None,
    hub_repo=None,
    how_to_get="build it with `suite data import nds-resnet --from ResNet_rng1.json --from ResNet_rng2.json "
    "--from ResNet_rng3.json` (the NDS release, facebookresearch/nds) or run `suite data pull nds-resnet`",
)
NDS_RESNEXTA_GROUND_TRUTH = DataFile(
    name="nds-resnexta",
    relpath="nds/nds_resnexta_ground_truth.csv",
    sha256=None,
    content_sha256=None,
    hub_repo=None,
    how_to_get="build it with `suite data import nds-resnexta --from ResNeXt-A.json` (the NDS release, "
    "facebookresearch/nds) or run `suite data pull nds-resnexta`",
)
# Partial sets: real data at hand, read as they are (pinned by sha256).
NB101_PARTIAL = DataFile(
    name="nb101-partial",
    relpath="nb101/nb101_partial.csv",
    sha256="cf2ee85abd95de20405957084372d19ab7a4ec24810920f5cb876fb7b2ddd0e6",
    content_sha256=None,
    hub_repo=None,
    how_to_get="copy nb101_partial.csv (500 NAS-Bench-101 cells from automl/NASLib) into the data directory "
    "or run `suite data pull nb101-partial`",
    kind="partial ground truth",
    size=152_298,
)
NB301_PARTIAL = DataFile(
    name="nb301-partial",
    relpath="nb301/nb301_partial_surrogate.csv",
    sha256="118a8643dfb6102576fdeaba772a3d9ecd4c3e20870fdc4c8dede0fa4021f7d3",
    content_sha256=None,
    hub_repo=None,
    how_to_get="copy nb301_partial_surrogate.csv (1,218 DARTS genotypes from automl/NASLib) into the data "
    "directory or run `suite data pull nb301-partial`",
    kind="partial ground truth",
    size=679_477,
)

DATA_FILES: dict[str, DataFile] = {f.name: f for f in (
    CIFAR10_TRAIN, NB201_GROUND_TRUTH, NB101_GROUND_TRUTH, NB301_GROUND_TRUTH, NDS_RESNET_GROUND_TRUTH,
    NDS_RESNEXTA_GROUND_TRUTH, NB101_PARTIAL, NB301_PARTIAL,
)}


def unpinned_import_relpath(datafile: DataFile) -> str:
    """Where ``suite data import`` leaves a table it built for a pinned file when the build differs from
    the pin (``nb201/nb201_ground_truth.imported.csv``): kept for inspection, never read by a run."""
    path = PurePosixPath(datafile.relpath)
    return str(path.with_name(f"{path.stem}.imported{path.suffix}"))
