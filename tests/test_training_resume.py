"""Training killed with SIGKILL resumes from its last checkpoint and ends bit-identical to an uninterrupted run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from suite.training import (
    CheckpointError,
    ResumableLoop,
    load_checkpoint,
    save_checkpoint,
)

# A small CNN trained with SGD + momentum + cosine schedule, random crops/flips and dropout: every
# kind of state a supernet's training has (weights, optimizer buffers, schedule, generators, global RNG).
SCRIPT = textwrap.dedent("""
    import sys, torch
    from torch import nn
    from suite.training import ResumableLoop, epoch_permutation

    torch.set_num_threads(1)
    ckpt, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    data = torch.randn(96, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    labels = torch.randint(0, 10, (96,), generator=torch.Generator().manual_seed(2))
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.2),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4 * 6)
    aug = torch.Generator().manual_seed(3)

    def step(epoch, i):
        idx = epoch_permutation(96, 20, epoch)[i * 16:(i + 1) * 16]
        x = data[idx]
        if torch.rand((), generator=aug) < 0.5:
            x = x.flip(3)
        dx, dy = torch.randint(0, 5, (2,), generator=aug).tolist()
        x = nn.functional.pad(x, (2, 2, 2, 2))[:, :, dy:dy + 12, dx:dx + 12]
        loss = nn.functional.cross_entropy(model(x), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        print(f"step {epoch} {i}", flush=True)

    loop = ResumableLoop(ckpt if ckpt != "-" else None, {"model": model, "opt": opt, "sched": sched},
                         {"aug": aug}, every_steps=4, fingerprint="tiny-cnn")
    loop.run(epochs=4, steps_per_epoch=6, step_fn=step)
    print("resumed_from", loop.resumed_from, flush=True)
    torch.save(model.state_dict(), out)
""")


def _train(tmp_path, ckpt: str, out: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), ckpt, out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if kill_at is not None and line.strip() == f"step {kill_at}":
            proc.kill()
            break
    proc.wait(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines), proc.stderr.read())


def test_killed_training_resumes_from_its_checkpoint_bit_identically(tmp_path):
    reference = _train(tmp_path, "-", str(tmp_path / "reference.pt"))
    assert reference.returncode == 0, reference.stderr

    ckpt = str(tmp_path / "train.ckpt")
    # killed in epoch 1 at step 3: the last checkpoint is the end of epoch 0
    killed = _train(tmp_path, ckpt, str(tmp_path / "resumed.pt"), kill_at="1 3")
    assert killed.returncode == -9
    assert load_checkpoint(ckpt)["position"] == {"epoch": 1, "step": 0}
    resumed = _train(tmp_path, ckpt, str(tmp_path / "resumed.pt"))
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed_from (1, 0)" in resumed.stdout and "step 0 0" not in resumed.stdout

    # killed again mid-epoch, after a within-epoch checkpoint (every 4 steps)
    ckpt2 = str(tmp_path / "train2.ckpt")
    _train(tmp_path, ckpt2, str(tmp_path / "twice.pt"), kill_at="2 5")
    assert load_checkpoint(ckpt2)["position"] == {"epoch": 2, "step": 4}
    assert _train(tmp_path, ckpt2, str(tmp_path / "twice.pt")).returncode == 0

    expected = torch.load(tmp_path / "reference.pt", weights_only=True)
    for name in ("resumed.pt", "twice.pt"):
        got = torch.load(tmp_path / name, weights_only=True)
        assert got.keys() == expected.keys()
        for key in expected:
            assert torch.equal(got[key], expected[key]), (name, key)


def test_a_checkpoint_of_other_training_is_refused(tmp_path):
    model = torch.nn.Linear(2, 2)
    path = tmp_path / "c.ckpt"
    ResumableLoop(path, {"model": model}, fingerprint="a").run(1, 1, lambda e, s: None)
    with pytest.raises(CheckpointError, match="checkpoint of other training"):
        ResumableLoop(path, {"model": model}, fingerprint="b").run(2, 1, lambda e, s: None)


def test_checkpoints_never_unpickle_code(tmp_path):
    path = tmp_path / "evil.ckpt"
    save_checkpoint(path, {"checkpoint_version": 1, "payload": Evil()})
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))
