"""Up- and down-sampling that leave no period-2 mesh: the layers behind ``model.generator.upsample`` and
``model.discriminator.downsample``.

A stride-2 transposed convolution with a 4x4 kernel overlaps its outputs unevenly, so even a trained G
keeps a faint grid at the Nyquist frequency (Odena et al., "Deconvolution and checkerboard artifacts",
2016). StyleGAN2 follows every such resampling with the binomial filter [1, 3, 3, 1], whose response is
exactly zero at Nyquist (1 - 3 + 3 - 1 = 0), and filters before every downsampling in D
(stylegan2-ada-pytorch ``torch_utils/ops/conv2d_resample.py``, R3GAN ``Resamplers.py``); Schwarz et al.
(NeurIPS 2021) found D's downsampling is where high frequencies are lost to it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

UPSAMPLING = ("transpose", "nearest", "bilinear", "fir")
DOWNSAMPLING = ("stride", "fir")


def binomial_kernel() -> torch.Tensor:
    """The 4x4 outer product of [1, 3, 3, 1], summing to 1."""
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    kernel = taps[:, None] * taps[None, :]
    return kernel / kernel.sum()


class LowPass(nn.Module):
    """The [1, 3, 3, 1] filter on every channel (depthwise), borders reflected. ``padding`` is
    (left, right, top, bottom): (1, 2, 1, 2) or (2, 1, 2, 1) keep the size (a half-pixel shift either
    way: alternate them to cancel), (2, 2, 2, 2) grows it by one, centred, before a stride-2 conv."""

    def __init__(self, channels: int, padding: tuple[int, int, int, int] = (1, 2, 1, 2)):
        super().__init__()
        self.channels, self.padding = channels, padding
        # Not in the state_dict: a fixed filter, and checkpoints of nets without it still load.
        self.register_buffer("kernel", binomial_kernel().expand(channels, 1, 4, 4).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, self.padding, mode="reflect")
        return F.conv2d(x, self.kernel.to(x.dtype), groups=self.channels)

    def extra_repr(self) -> str:
        return f"{self.channels}, padding={self.padding}"


def doubling(in_ch: int, out_ch: int, mode: str, index: int = 0) -> list[nn.Module]:
    """Layers that double a feature map's size, ``mode`` one of :data:`UPSAMPLING`: ``transpose`` (a 4x4
    stride-2 transposed conv, DCGAN's), ``nearest`` or ``bilinear`` x2 then a 3x3 conv (FastGAN's G), ``fir``
    (the transposed conv, then the [1, 3, 3, 1] low-pass; ``index`` alternates its half-pixel shift)."""
    if mode in ("nearest", "bilinear"):
        return [nn.Upsample(scale_factor=2, mode=mode), nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=False)]
    layers: list[nn.Module] = [nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False)]
    if mode == "fir":
        layers.append(LowPass(out_ch, (1, 2, 1, 2) if index % 2 == 0 else (2, 1, 2, 1)))
    return layers


def halving(in_ch: int, out_ch: int, mode: str) -> list[nn.Module]:
    """Layers that halve a feature map's size, ``mode`` one of :data:`DOWNSAMPLING`: ``stride`` (a 4x4
    stride-2 conv, DCGAN's) or ``fir`` (the [1, 3, 3, 1] low-pass first, so nothing above the new Nyquist
    frequency folds back into D's features)."""
    if mode == "fir":  # filter to size + 1, centred; the 4x4 stride-2 conv then lands on size / 2
        return [LowPass(in_ch, (2, 2, 2, 2)), nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=False)]
    return [nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=False)]
