"""Determinism settings the runner applies, and the record of everything that can change a number."""

from __future__ import annotations

import os
import platform
import random
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import suite

if TYPE_CHECKING:
    import torch

#: cuBLAS needs a fixed workspace to be deterministic; it must be set before CUDA initialises.
CUBLAS_WORKSPACE = ":4096:8"


def apply_determinism(seed: int) -> dict[str, Any]:
    """Seed every generator and switch on deterministic kernels; returns what was set.

    Sets: python/numpy/torch seeds, cudnn deterministic on and benchmark off, TF32 off for matmul
    and cudnn, ``torch.use_deterministic_algorithms(True)``, ``CUBLAS_WORKSPACE_CONFIG``.
    """
    import torch  # deferred: torch, so that signing (utc_now) imports no torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.use_deterministic_algorithms(True)
    return determinism_record()


def determinism_record() -> dict[str, Any]:
    """The deterministic-execution settings currently in force."""
    import torch  # deferred: torch, so that signing (utc_now) imports no torch

    return {
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
        "deterministic_algorithms": bool(torch.are_deterministic_algorithms_enabled()),
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "mkl_num_threads": os.environ.get("MKL_NUM_THREADS"),
    }


def environment(device: torch.device) -> dict[str, Any]:
    """Versions and hardware: python, platform, numpy, torch, CUDA/cuDNN, the device's name."""
    import torch  # deferred: torch, so that signing (utc_now) imports no torch

    record: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "dtype": "float32",
    }
    return record


def git_commit() -> str | None:
    """The suite's git commit (with ``-dirty`` when the tree has changes), or None outside a checkout."""
    root = Path(suite.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def utc_now() -> str:
    """The current time, ISO 8601 UTC, second precision."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
