"""What every supernet shares: standalone sub-networks holding copies of the bank's tensors.

A supernet holds every candidate weight at its largest shape; an architecture's standalone network
(the ``network_class`` of the space) names each of its tensors by a state-dict key. The supernet
maps that key to a bank tensor (:meth:`WeightBank.bank_key`) and takes the leading slice of the
network's shape (first channels, first blocks), or a space's own slice (:meth:`WeightBank.bank_slice`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


class WeightBank(nn.Module):
    """Base of the supernets. Subclasses set ``network_class`` and ``self.options`` (the keywords
    the standalone network takes besides the architecture) and may override ``bank_key`` /
    ``bank_slice`` / ``check_arch``."""

    network_class: ClassVar[type[nn.Module]]
    options: dict[str, Any]

    def check_arch(self, arch: Any) -> None:
        """Raise ValueError when ``arch`` does not fit in the bank (default: every one fits)."""

    def subnet(self, arch: Any) -> nn.Module:
        """The standalone network of ``arch`` holding copies of this supernet's tensors.

        Built on the meta device and then given cloned tensors, so building it neither draws an
        initialisation nor advances any generator.
        """
        self.check_arch(arch)
        with torch.device("meta"):
            net = self.network_class(arch, **self.options)
        net.load_state_dict(self.arch_state_dict(arch, net.state_dict()), assign=True)
        return net

    def arch_state_dict(self, arch: Any, template: dict | None = None) -> dict[str, torch.Tensor]:
        """The state dict of ``arch``'s standalone network, as detached copies of this supernet's
        tensors. ``template``: that network's state dict (its keys and shapes are used)."""
        self.check_arch(arch)
        if template is None:
            with torch.device("meta"):
                template = self.network_class(arch, **self.options).state_dict()
        bank = dict(self.named_parameters())
        bank.update(self.named_buffers())
        out = {}
        for key, like in template.items():
            tensor = self.bank_slice(key, bank[self.bank_key(key, arch)], tuple(like.shape), arch)
            if tuple(tensor.shape) != tuple(like.shape):
                raise ValueError(f"supernet bug: {key} has shape {tuple(tensor.shape)}, the network "
                                 f"needs {tuple(like.shape)}")
            out[key] = tensor.detach().clone()
        return out

    def bank_key(self, key: str, arch: Any) -> str:
        """The bank's key of the standalone network's ``key`` (default: the same key)."""
        return key

    def bank_slice(self, key: str, tensor: torch.Tensor, shape: tuple[int, ...], arch: Any) -> torch.Tensor:
        """The part of bank ``tensor`` the network's ``key`` of ``shape`` takes (default: the leading slice)."""
        return tensor[tuple(slice(0, n) for n in shape)]
