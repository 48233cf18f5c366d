"""CIFAR-10 training set: read through ``datasets``, decoded once, cached as uint8 arrays.

The protocol only ever uses the 50,000 training images, in their original order
(data_batch_1..5): images [0, 40000) train supernets, images [40000, 50000) score estimators.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from suite.data.checksums import sha256_arrays, sha256_file
from suite.data.manifest import CIFAR10_TRAIN
from suite.errors import DataError

if TYPE_CHECKING:
    import torch

N_TRAIN_IMAGES = 50_000
TRAIN_SPLIT = (0, 40_000)
SCORE_SPLIT = (40_000, 50_000)

#: Per-channel normalisation. "exact" are the true statistics of the 50k training images;
#: "legacy" is the std that many NAS codebases copy (0.2023, ...). The protocol uses "exact".
NORMALIZATIONS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "exact": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "legacy": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
}


@dataclass(frozen=True)
class Cifar10Train:
    """The decoded CIFAR-10 training set.

    Attributes:
        images: uint8 array [50000, 32, 32, 3] (N, H, W, RGB).
        labels: int64 array [50000], class ids 0..9.
        content_sha256: sha256 of ``images`` then ``labels`` bytes.
    """

    images: np.ndarray
    labels: np.ndarray
    content_sha256: str

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Images and labels of the protocol split ``"train"`` ([0, 40000)) or ``"score"``."""
        bounds = {"train": TRAIN_SPLIT, "score": SCORE_SPLIT}
        if name not in bounds:
            raise ValueError(f"unknown split {name!r}; expected 'train' or 'score'")
        lo, hi = bounds[name]
        return self.images[lo:hi], self.labels[lo:hi]


def parquet_files(data_dir: Path) -> list[Path]:
    """The ``plain_text/train-*.parquet`` shards under ``data_dir/cifar10``, sorted."""
    return sorted((Path(data_dir) / "cifar10" / "plain_text").glob("train-*.parquet"))


def load_cifar10_train(data_dir: Path, cache_dir: Path | None = None) -> Cifar10Train:
    """Load the training set, decoding the parquet shards once and caching the arrays.

    Args:
        data_dir: the suite's data directory (holds ``cifar10/plain_text/train-*.parquet``).
        cache_dir: where the decoded ``.npy`` arrays are kept; None decodes without caching.

    Raises:
        DataError: the shards are missing, or their decoded content fails the checksum.
    """
    files = parquet_files(data_dir)
    if not files:
        raise DataError(
            f"CIFAR-10 training set not found under {Path(data_dir) / 'cifar10' / 'plain_text'}: "
            f"{CIFAR10_TRAIN.how_to_get}"
        )
    key = "-".join(sha256_file(f)[:16] for f in files)
    cached = _read_cache(cache_dir, key) if cache_dir is not None else None
    if cached is None:
        images, labels = _decode(files)
        cached = Cifar10Train(images, labels, sha256_arrays(images, labels))
        if cache_dir is not None:
            try:
                _write_cache(cache_dir, key, cached)
            except OSError as exc:  # a read-only cache costs a re-decode next time, nothing more
                import warnings

                warnings.warn(f"cannot cache decoded CIFAR-10 in {cache_dir}: {exc.strerror}", stacklevel=2)
    if cached.content_sha256 != CIFAR10_TRAIN.content_sha256:
        raise DataError(
            f"CIFAR-10 under {files[0].parent} does not hold the expected images "
            f"(content sha256 {cached.content_sha256[:12]}..., expected "
            f"{CIFAR10_TRAIN.content_sha256[:12]}...): {CIFAR10_TRAIN.how_to_get}"
        )
    return cached


def _decode(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    import datasets

    datasets.disable_progress_bars()  # the suite shows its own progress
    try:
        table = datasets.load_dataset(
            "parquet", data_files={"train": [str(f) for f in files]}, split="train",
            cache_dir=None, keep_in_memory=True,
        )
    except Exception as exc:  # a corrupt shard: report it as data, not a traceback
        raise DataError(f"cannot read CIFAR-10 parquet under {files[0].parent}: {exc}") from exc
    if set(table.column_names) < {"img", "label"}:
        raise DataError(
            f"CIFAR-10 parquet under {files[0].parent} has columns {table.column_names}, "
            "expected 'img' and 'label' (the uoft-cs/cifar10 layout)"
        )
    n = len(table)
    images = np.empty((n, 32, 32, 3), dtype=np.uint8)
    step = 2_000
    for start in range(0, n, step):
        rows = table[start : start + step]
        images[start : start + len(rows["img"])] = np.stack(
            [np.asarray(img.convert("RGB"), dtype=np.uint8) for img in rows["img"]]
        )
    labels = np.asarray(table["label"], dtype=np.int64)
    return images, labels


def _cache_paths(cache_dir: Path, key: str) -> tuple[Path, Path, Path]:
    base = Path(cache_dir) / "cifar10"
    return base / f"train-{key}-images.npy", base / f"train-{key}-labels.npy", base / f"train-{key}.sha256"


def _read_cache(cache_dir: Path, key: str) -> Cifar10Train | None:
    images_path, labels_path, sha_path = _cache_paths(cache_dir, key)
    if not (images_path.exists() and labels_path.exists() and sha_path.exists()):
        return None
    try:
        images = np.load(images_path, allow_pickle=False, mmap_mode="r")
        labels = np.load(labels_path, allow_pickle=False)
        recorded = sha_path.read_text().strip()
    except (OSError, ValueError):
        return None
    images = np.ascontiguousarray(images)
    actual = sha256_arrays(images, labels)
    if actual != recorded:  # a damaged cache is rebuilt, never trusted
        return None
    return Cifar10Train(images, labels, actual)


def _write_cache(cache_dir: Path, key: str, data: Cifar10Train) -> None:
    images_path, labels_path, sha_path = _cache_paths(cache_dir, key)
    images_path.parent.mkdir(parents=True, exist_ok=True)
    for path, array in ((images_path, data.images), (labels_path, data.labels)):
        tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(tmp, array, allow_pickle=False)
        os.replace(tmp, path)
    sha_path.write_text(data.content_sha256 + "\n")


def normalize(images: np.ndarray | torch.Tensor, normalization: str = "exact") -> torch.Tensor:
    """uint8 images [N, 32, 32, 3] -> float32 tensor [N, 3, 32, 32], scaled to [0, 1] and normalised."""
    import torch  # deferred: torch, so that the protocol's constants import without it

    mean, std = NORMALIZATIONS[normalization]
    images = np.asarray(images)
    if not images.flags.writeable:  # a read-only memory map: torch wants writable memory
        images = images.copy()
    x = torch.as_tensor(images).permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def augment_uint8(images: np.ndarray, generator: torch.Generator) -> np.ndarray:
    """The training transform: RandomCrop(32, padding=4), then a horizontal flip with p = 0.5.

    Raw pixels are padded with 0 before normalisation, as torchvision's RandomCrop on the image
    does in the usual ``RandomCrop -> Flip -> ToTensor -> Normalize`` pipeline.

    Args:
        images: uint8 [N, 32, 32, 3].
        generator: the torch generator that draws the offsets and flips.
    Returns:
        uint8 [N, 32, 32, 3], a new array.
    """
    import torch  # deferred: torch, so that the protocol's constants import without it

    n = images.shape[0]
    padded = np.zeros((n, 40, 40, 3), dtype=np.uint8)
    padded[:, 4:36, 4:36] = images
    offsets = torch.randint(0, 9, (n, 2), generator=generator).numpy()
    flips = (torch.rand(n, generator=generator) < 0.5).numpy()
    out = np.empty_like(images)
    for i in range(n):
        dy, dx = offsets[i]
        crop = padded[i, dy : dy + 32, dx : dx + 32]
        out[i] = crop[:, ::-1] if flips[i] else crop
    return out
