"""FastGAN's decoder (Liu et al. 2021) for a self-supervised discriminator: from D's features at twice the
start size, a small stack of nearest x2 + 3x3 conv blocks redraws the real image at half size, so D must keep
what the image shows, not only what tells it apart from fakes. Shared by the dcgan and resnet D."""

from __future__ import annotations

from torch import nn


def reconstruction_decoder(in_ch: int, out_ch: int, size: int, out_size: int, bn_eps: float, bn_momentum: float) -> nn.Sequential:
    """FastGAN's small decoder: nearest x2 + 3x3 conv blocks, halving the channels, to out_size, then RGB."""
    layers: list[nn.Module] = []
    while size < out_size:
        width = max(in_ch // 2, 16)
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_ch, width, 3, 1, 1, bias=False),
                   nn.BatchNorm2d(width, eps=bn_eps, momentum=bn_momentum), nn.ReLU(inplace=True)]
        in_ch, size = width, size * 2
    return nn.Sequential(*layers, nn.Conv2d(in_ch, out_ch, 3, 1, 1), nn.Tanh())
