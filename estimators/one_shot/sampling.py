"""Which architectures a supernet trains at each step.

Every sampler draws from a ``torch.Generator`` it is handed (seeded per step by the trainer, so a
resumed run draws the same architectures) and returns the step's architectures; their losses are
averaged into one update.

- ``uniform``: S cells drawn uniformly from all 15,625; on the other spaces, S draws of the space's
  own seeded sampler (the only sampling defined there).
- ``deiso`` (de-isomorphic, the study's NB201 default): S draws, each an isomorphism class picked
  uniformly among the classes whose cells have a convolution on an input-output path, then a
  member of that class uniformly (members compute the same function, but train different edges'
  weights, so no member is preferred).
- ``fairnas``: one architecture per candidate operation (5 on NB201); on every edge the five take
  the five operations in a random order, so every operation of every edge is trained exactly once
  per step (Chu et al., FairNAS).
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import numpy as np
import torch

from suite.errors import UsageError
from suite.spaces import get_space
from suite.spaces.nb201 import EDGES, OPS, Nb201Arch, canonical_form, enumerate_archs, has_conv_on_path

SAMPLERS = ("uniform", "deiso", "fairnas")


@lru_cache(maxsize=1)
def deiso_classes() -> tuple[tuple[Nb201Arch, ...], ...]:
    """The isomorphism classes the de-isomorphic sampler draws from, each a tuple of its cells.

    Only classes whose cells have a convolution on an input-output path; classes and their members
    in enumeration order, so the draw is a pure function of the generator.
    """
    classes: dict[str, list[Nb201Arch]] = defaultdict(list)
    for arch in enumerate_archs():
        if has_conv_on_path(arch):
            classes[canonical_form(arch)].append(arch)
    return tuple(tuple(members) for members in classes.values())


class Sampler:
    """Draws the architectures of one training step.

    Args:
        kind: one of SAMPLERS.
        samples: S, architectures per step (uniform and deiso); fairnas always draws one per op.
    """

    def __init__(self, kind: str, samples: int = 1, space: str = "nb201") -> None:
        if kind not in SAMPLERS:
            raise UsageError(f"sampling must be one of {', '.join(SAMPLERS)}; got {kind!r}")
        if samples < 1:
            raise UsageError(f"mc_samples must be at least 1; got {samples}")
        if kind == "fairnas" and samples != 1:
            raise UsageError(f"fairnas trains {len(OPS)} architectures per step by definition; drop mc_samples={samples}")
        if space != "nb201" and kind != "uniform":
            raise UsageError(f"sampling={kind} is defined on NB201 cells only; use sampling=uniform on {space}")
        self.kind, self.samples, self.space = kind, samples, space
        self.per_step = len(OPS) if kind == "fairnas" else samples

    def draw(self, generator: torch.Generator) -> list[Nb201Arch]:
        """The step's ``per_step`` architectures."""
        if self.space != "nb201":  # the space's own uniform sampler, seeded from the step's generator
            seed = int(torch.randint(0, 2**62, (1,), generator=generator))
            return list(get_space(self.space).sample(np.random.default_rng(seed), self.samples))
        if self.kind == "uniform":
            picks = torch.randint(0, len(OPS), (self.samples, len(EDGES)), generator=generator).tolist()
            return [Nb201Arch(tuple(OPS[i] for i in row)) for row in picks]
        if self.kind == "deiso":
            classes = deiso_classes()
            out = []
            for _ in range(self.samples):
                members = classes[int(torch.randint(0, len(classes), (1,), generator=generator))]
                out.append(members[int(torch.randint(0, len(members), (1,), generator=generator))])
            return out
        orders = [torch.randperm(len(OPS), generator=generator).tolist() for _ in EDGES]  # fairnas
        return [Nb201Arch(tuple(OPS[order[k]] for order in orders)) for k in range(len(OPS))]
