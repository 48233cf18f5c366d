"""The full-size one-shot protocol on a GPU, shortened to a few minutes: time per epoch and per scoring pass.

    python bench/gpu_oneshot.py [--epochs 2] [--archs 200] [--device cuda] [--data-dir DIR]

Trains the protocol's NB201 supernet (C=16, 17 layers, batch 512, all 40,000 training images,
de-isomorphic sampling, deterministic GPU settings) for ``--epochs`` epochs, then scores
``--archs`` sampled architectures on all 10,000 scoring images (20 batches of 500), and prints
the seconds per epoch and per architecture with the extrapolation to the protocol (1000 epochs;
15,625 architectures x 5 snapshots). Without the CIFAR-10 files it uses random images of the
same shape (the times do not depend on the pixels) and says so.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from estimators.one_shot.sampling import Sampler
from estimators.one_shot.scoring import os_values
from estimators.one_shot.settings import TrainSettings
from estimators.one_shot.trainer import SupernetTrainer
from suite import paths
from suite.provenance import apply_determinism


class _RandomCifar:
    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.images = rng.integers(0, 256, size=(50_000, 32, 32, 3), dtype=np.uint8)
        self.labels = rng.integers(0, 10, size=50_000).astype(np.int64)

    def split(self, name: str):
        lo, hi = (0, 40_000) if name == "train" else (40_000, 50_000)
        return self.images[lo:hi], self.labels[lo:hi]


def _cifar(data_dir):
    try:
        from suite.data.cifar10 import load_cifar10_train

        data = load_cifar10_train(paths.data_dir(data_dir), paths.cache_dir())
        print("data: CIFAR-10 training set")
        return data
    except Exception as exc:  # noqa: BLE001 - any reason the files are missing: time on random images
        print(f"data: random images ({type(exc).__name__}: {str(exc)[:100]})")
        return _RandomCifar()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--archs", type=int, default=200)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--train-images", type=int, default=40_000, help="fewer for a quick check on a CPU")
    args = parser.parse_args()
    device = torch.device(args.device)
    record = apply_determinism(20)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {device} ({name}), torch {torch.__version__}, determinism {record}")
    data = _cifar(args.data_dir)
    settings = TrainSettings(epochs=args.epochs, snapshot_epochs=(args.epochs,), train_images=args.train_images)
    trainer = SupernetTrainer(settings, 20, lambda: data, device, None)
    start = time.perf_counter()
    trainer.train()
    if device.type == "cuda":
        torch.cuda.synchronize()
    train_s = time.perf_counter() - start
    per_epoch = train_s / args.epochs
    print(f"training: {args.epochs} epochs of {settings.steps_per_epoch()} steps in {train_s:.1f} s = "
          f"{per_epoch:.1f} s/epoch (first epoch includes warm-up); 1000 epochs: {1000 * per_epoch / 3600:.2f} h")

    from suite.data.cifar10 import normalize

    images, labels = data.split("score")
    x, y = normalize(images), torch.as_tensor(np.asarray(labels, dtype=np.int64))
    batches = [(x[i : i + 500].to(device), y[i : i + 500].to(device)) for i in range(0, len(x), 500)]
    net = settings.build_supernet()
    net.load_state_dict(trainer.snapshot_weights(f"epoch-{args.epochs}"))
    net = net.to(device)
    archs = Sampler("uniform", samples=args.archs).draw(torch.Generator().manual_seed(0))
    os_values(net, archs[:2], batches, "acc")  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    values = os_values(net, archs, batches, "acc")
    if device.type == "cuda":
        torch.cuda.synchronize()
    per_arch = (time.perf_counter() - start) / len(archs)
    print(f"scoring: {per_arch * 1000:.1f} ms/arch on 10,000 images (20 batches of 500), mean OS acc "
          f"{values.mean():.4f}; one pass over 15,625 cells: {15625 * per_arch / 60:.1f} min; 5 snapshots: "
          f"{5 * 15625 * per_arch / 3600:.2f} h")
    print(f"full protocol, one seed: about {(1000 * per_epoch + 5 * 15625 * per_arch) / 3600:.1f} GPU-hours")
    if device.type == "cuda":
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
