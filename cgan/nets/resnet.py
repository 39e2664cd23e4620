"""A BigGAN-style residual conditional GAN (Brock et al. 2019; SNGAN, Miyato et al. 2018), any supported size.

G: z is split into chunks (BigGAN's hierarchical latent): the first goes through a Linear to a
(C0, s, s) map; every residual up-block hears the class through conditional BatchNorm whose scale and
shift are Linear functions of [shared class embedding, its own z chunk]. A block is
CBN-ReLU-up-conv3x3-CBN-ReLU-conv3x3 with an upsampled 1x1-conv shortcut; BatchNorm-ReLU-conv3x3-Tanh out.

D: residual down-blocks (conv3x3-ReLU-conv3x3-avgpool, 1x1-conv shortcut; the first block without the
leading ReLU, as in SNGAN), one block more at the smallest size, ReLU, a sum over positions, then the
shared head (projection by default; concat and acgan as for the other nets). Spectral norm on every
layer by default, no BatchNorm. Optional: a self-attention block (SAGAN) at one resolution in both
nets, spectral norm in G (BigGAN), FastGAN's decoder in D (same as the dcgan D's).

Sizes as the dcgan model: s * 2**n with a start size s of 3..7 and n >= 2 doublings (28, 32, 64, 128...).
Widths: G's blocks narrow from base_width * 2**(n-1) to base_width; D's widen from base_width.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cgan.errors import UserError
from cgan.nets.conditioning import ConvDiscriminator, DiscriminatorHead, check_conditioning
from cgan.nets.dcgan import plan_upsampling
from cgan.nets.decoder import reconstruction_decoder
from cgan.nets.spectral import apply_spectral_norm


def init_resnet_weights(module: nn.Module) -> None:
    """BigGAN's initialisation: orthogonal conv and linear weights, zero biases."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.orthogonal_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class SelfAttention(nn.Module):
    """SAGAN's self-attention (Zhang et al. 2019), as in BigGAN: every position looks at a 2x2-pooled
    copy of the map; the result is added back scaled by a learned gain that starts at 0."""

    def __init__(self, channels: int):
        super().__init__()
        self.query = nn.Conv2d(channels, max(channels // 8, 1), 1, bias=False)
        self.key = nn.Conv2d(channels, max(channels // 8, 1), 1, bias=False)
        self.value = nn.Conv2d(channels, max(channels // 2, 1), 1, bias=False)
        self.out = nn.Conv2d(max(channels // 2, 1), channels, 1, bias=False)
        self.gain = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2)  # (B, C/8, HW)
        k = F.max_pool2d(self.key(x), 2).flatten(2)  # (B, C/8, HW/4)
        v = F.max_pool2d(self.value(x), 2).flatten(2)  # (B, C/2, HW/4)
        attention = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (B, HW, HW/4)
        o = (v @ attention.transpose(1, 2)).view(b, -1, h, w)
        return x + self.gain * self.out(o)


class ConditionalBatchNorm(nn.Module):
    """BatchNorm whose scale (1 + gain) and shift are Linear functions of a conditioning vector:
    BigGAN's shared class embedding joined with the block's own z chunk."""

    def __init__(self, channels: int, cond_dim: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, eps=eps, momentum=momentum, affine=False)
        self.gain = nn.Linear(cond_dim, channels, bias=False)
        self.bias = nn.Linear(cond_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * (1 + self.gain(cond)[:, :, None, None]) + self.bias(cond)[:, :, None, None]


class UpBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, cond_dim: int, eps: float, momentum: float):
        super().__init__()
        self.norm1 = ConditionalBatchNorm(in_ch, cond_dim, eps, momentum)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, 1, 1)
        self.norm2 = ConditionalBatchNorm(out_ch, cond_dim, eps, momentum)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x, cond)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), cond)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DownBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, downsample: bool = True, first: bool = False):
        super().__init__()
        self.first, self.downsample = first, downsample
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if (in_ch != out_ch or downsample) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)  # the first block sees the image itself (SNGAN's OptimizedBlock)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        skip = x
        if self.shortcut is not None:  # first block: pool, then 1x1; later blocks: 1x1, then pool
            if self.first and self.downsample:
                skip = self.shortcut(F.avg_pool2d(x, 2))
            else:
                skip = self.shortcut(x)
                skip = F.avg_pool2d(skip, 2) if self.downsample else skip
        return h + skip


def _check_attention(attention: int | None, sizes: Sequence[int]) -> int | None:
    if attention in (None, 0):
        return None
    if attention not in sizes:
        raise UserError(f"model.*.attention={attention} is not a feature-map size of this model: use one of "
                        f"{', '.join(map(str, sizes))}, or null for none")
    return attention


def _chunk_sizes(latent_dim: int, parts: int) -> list[int]:
    """latent_dim split into ``parts`` chunks: equal ones for the blocks, the remainder to the first."""
    base = latent_dim // parts
    return [latent_dim - base * (parts - 1)] + [base] * (parts - 1)


class ResNetGenerator(nn.Module):
    def __init__(
        self,
        latent_dim: int,
        num_classes: int,
        image_shape: Sequence[int],
        base_width: int = 32,
        max_width: int = 512,
        shared_dim: int = 128,  # BigGAN's shared class embedding, heard by every block's BatchNorm
        hierarchical_z: bool = True,  # a z chunk per block beside the class embedding (BigGAN)
        attention: int | None = None,  # feature-map size of a self-attention block (e.g. 32); null: none
        spectral_norm: bool = False,  # BigGAN puts spectral norm in G too
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.start, n = plan_upsampling(image_shape, model="resnet")
        widths = [min(base_width * 2 ** (n - i), max_width) for i in range(n + 1)]  # start map, then each block
        self.start_width = widths[0]
        self.chunks = _chunk_sizes(latent_dim, n + 1) if hierarchical_z else [latent_dim]
        if hierarchical_z and min(self.chunks) < 1:
            raise UserError(f"model.latent_dim={latent_dim} is too small to split over {n + 1} chunks: use at "
                            f"least {n + 1}, or model.generator.hierarchical_z=false")
        cond_dim = shared_dim + (self.chunks[1] if hierarchical_z else 0)
        self.shared = nn.Embedding(num_classes, shared_dim)
        self.latent = nn.Linear(self.chunks[0], widths[0] * self.start**2)
        sizes = [self.start * 2 ** (i + 1) for i in range(n)]
        self.attention_at = _check_attention(attention, sizes[:-1])
        self.blocks = nn.ModuleList()
        self.attention = None
        for i in range(n):
            self.blocks.append(UpBlock(widths[i], widths[i + 1], cond_dim, bn_eps, bn_momentum))
            if sizes[i] == self.attention_at:
                self.attention, self.attention_after = SelfAttention(widths[i + 1]), i
        self.out = nn.Sequential(nn.BatchNorm2d(widths[-1], eps=bn_eps, momentum=bn_momentum), nn.ReLU(),
                                 nn.Conv2d(widths[-1], self.image_shape[0], 3, 1, 1), nn.Tanh())
        self.apply(init_resnet_weights)
        if spectral_norm:  # every conv and Linear; the class embedding is a lookup table, left as it is
            for name, child in self.named_children():
                if name != "shared":
                    apply_spectral_norm(child)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        shared = self.shared(labels)
        if len(self.chunks) > 1:
            zs = torch.split(z, self.chunks, dim=1)
            z0, conds = zs[0], [torch.cat([shared, zi], dim=1) for zi in zs[1:]]
        else:
            z0, conds = z, [shared] * len(self.blocks)
        h = self.latent(z0).view(-1, self.start_width, self.start, self.start)
        for i, block in enumerate(self.blocks):
            h = block(h, conds[i])
            if self.attention is not None and i == self.attention_after:
                h = self.attention(h)
        return self.out(h)


class ResNetDiscriminator(ConvDiscriminator):
    def __init__(
        self,
        num_classes: int,
        image_shape: Sequence[int],
        base_width: int = 32,
        max_width: int = 512,
        embed_dim: int = 50,  # concat conditioning only: the label map's embedding
        attention: int | None = None,  # feature-map size of a self-attention block (e.g. 32); null: none
        spectral_norm: bool = True,
        conditioning: str = "projection",  # projection (BigGAN) | concat | acgan
        decoder: bool = False,  # FastGAN's self-supervised D, as in the dcgan D
        bn_eps: float = 1e-5,  # the decoder's BatchNorm (D itself has none)
        bn_momentum: float = 0.1,
    ):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.conditioning = check_conditioning(conditioning)
        if conditioning == "multiply":
            raise ValueError("the resnet discriminator supports conditioning projection, concat or acgan, "
                             "not multiply (that is the MLP's, article 004)")
        channels = self.image_shape[0]
        start, n = plan_upsampling(image_shape, model="resnet")
        self.label_map = None
        in_ch = channels
        if conditioning == "concat":
            self.label_map = nn.Sequential(
                nn.Embedding(num_classes, embed_dim), nn.Linear(embed_dim, channels * image_shape[1] * image_shape[2]))
            in_ch = 2 * channels
        widths = [min(base_width * 2**i, max_width) for i in range(n + 1)]  # n down-blocks, one more at the start size
        sizes = [image_shape[1] // 2 ** (i + 1) for i in range(n)]  # each down-block's output size
        self.attention_at = _check_attention(attention, [image_shape[1], *sizes[:-1]])
        self.blocks = nn.ModuleList()
        self.attention, self.attention_before = None, -1
        for i in range(n + 1):
            size_in = image_shape[1] // 2**i
            if size_in == self.attention_at and self.attention is None:
                self.attention, self.attention_before = SelfAttention(in_ch), i
            self.blocks.append(DownBlock(in_ch, widths[i], downsample=i < n, first=i == 0))
            in_ch = widths[i]
        self.head = DiscriminatorHead(in_ch, num_classes, conditioning)
        self.decoder = None
        if decoder:  # from the block whose output is 2 * start wide, up to half the image size
            self.decode_after = n - 2
            self.decoder = reconstruction_decoder(widths[n - 2], channels, 2 * start, image_shape[1] // 2,
                                                  bn_eps, bn_momentum)
        self.apply(init_resnet_weights)
        if spectral_norm:
            for name, child in self.named_children():
                if name != "decoder":  # the decoder learns a reconstruction, not a Lipschitz critic
                    apply_spectral_norm(child)

    def forward_with_reconstruction(self, images: torch.Tensor, labels: torch.Tensor, reconstruct: bool = True):
        """(logits, class logits or None, the decoder's half-size image in [-1, 1] or None)."""
        h, redrawn = self.with_label_map(images, labels), None
        for i, block in enumerate(self.blocks):
            if i == self.attention_before:
                h = self.attention(h)
            h = block(h)
            if reconstruct and self.decoder is not None and i == self.decode_after:
                redrawn = self.decoder(h)
        features = F.relu(h).sum(dim=(2, 3))  # SNGAN / BigGAN: global sum pooling
        logits, class_logits = self.head(features, labels)
        return logits, class_logits, redrawn
