"""The convolutional conditional GAN of seed article 002, built for any supported image size.

G: z -> Linear -> (C0, s, s) feature map; label -> Embedding -> Linear -> one (s, s)
map; both concatenated, then stride-2 ConvTranspose blocks (BatchNorm, ReLU)
double the size up to the image, Tanh out. D: label -> Embedding -> Linear ->
an image-sized map concatenated with the image as extra channels, then stride-2
Conv blocks (BatchNorm but on the first, LeakyReLU(0.2)) down to (s, s), one logit. D's
``conditioning`` may also be ``projection`` or ``acgan`` (the image alone goes in; see
cgan/nets/conditioning.py).

Options beyond the article (off by default, measured in docs/history.md and docs/results.md): G may upsample
without the transposed conv's mesh (nearest or bilinear + 3x3 conv, or low-passed: cgan/nets/resample.py)
and add 3x3 conv blocks at full size; D may look at full size first (a stride-1 stem), low-pass before
each downsampling, and carry FastGAN's decoder, which redraws real images from its features (a
self-supervised loss).

Sizes: s * 2**n with a start size s of 3..7 and n >= 2 upsamplings, square:
28 (7 * 4) for MNIST, and 32, 64, 128, 256, ... for RGB photos.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cgan.errors import UserError
from cgan.nets.conditioning import ConvDiscriminator, DiscriminatorHead, check_conditioning
from cgan.nets.decoder import reconstruction_decoder
from cgan.nets.resample import DOWNSAMPLING, UPSAMPLING, doubling, halving
from cgan.nets.spectral import apply_spectral_norm


def plan_upsampling(image_shape: Sequence[int], model: str = "dcgan") -> tuple[int, int]:
    """(start size s, number of doublings n) with s * 2**n == image size, or a UserError."""
    _, height, width = image_shape
    size, doublings = height, 0
    while size % 2 == 0 and size > 7:
        size //= 2
        doublings += 1
    if height != width or doublings < 2 or size < 3:
        raise UserError(
            f"the {model} model cannot build {height}x{width} images: use square images of 28 or a power of "
            "two from 16 up (32, 64, 128, ...), e.g. data.image_size=64"
        )
    return size, doublings


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN's initialisation (Radford et al., and article 002): conv weights N(0, 0.02), BatchNorm N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class ClassConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose scale and shift are looked up per class (conditional BatchNorm, as in SNGAN and
    BigGAN generators): every upsampling block hears the label, not just the input."""

    def __init__(self, num_features: int, num_classes: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.scale = nn.Embedding(num_classes, num_features)
        self.shift = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        scale = self.scale(labels)[:, :, None, None]
        shift = self.shift(labels)[:, :, None, None]
        return self.norm(x) * scale + shift


def _widths(base_width: int, n: int, max_width: int) -> list[int]:
    """Channel widths from the smallest feature map to the largest: base * 2**(n-2) ... base."""
    return [min(base_width * 2 ** (n - 2 - i), max_width) for i in range(n - 1)]


def _check_choice(key: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise UserError(f"{key}={value!r} is not one of {', '.join(choices)}")
    return value


class DCGANGenerator(nn.Module):
    def __init__(
        self,
        latent_dim: int,
        num_classes: int,
        image_shape: Sequence[int],
        base_width: int = 64,
        max_width: int = 512,
        embed_dim: int = 50,
        # Article 002 writes BatchNorm2d(n, momentum=0.1, eps=0.8): eps=0.8 is the
        # slip of article 000 again. PyTorch's defaults here; bn_eps=0.8 reproduces it.
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
        # false: the article's plain BatchNorm (the label enters only as the start map); true: each
        # block's BatchNorm scale and shift depend on the class.
        conditional_batchnorm: bool = False,
        # How each block doubles the size (cgan/nets/resample.py): transpose (article 002: ConvTranspose 4x4,
        # stride 2) | nearest or bilinear (x2, then a 3x3 conv: no checkerboard, Odena et al. 2016) | fir
        # (the transposed conv, then StyleGAN2's [1, 3, 3, 1] low-pass, zero at Nyquist).
        upsample: str = "transpose",
        # Channels of the full-size layers before the RGB layer (0: none; the RGB layer then makes the
        # last doubling itself from base_width channels).
        full_res_width: int = 0,
        # 3x3 conv + BatchNorm + ReLU blocks at full size after the last doubling, before the RGB conv:
        # detail above a quarter of the sampling rate can only be drawn by layers at full size.
        full_res_blocks: int = 0,
    ):
        super().__init__()
        _check_choice("model.generator.upsample", upsample, UPSAMPLING)
        if full_res_blocks and not full_res_width:
            raise UserError(f"model.generator.full_res_blocks={full_res_blocks} needs full-size layers: set "
                            "model.generator.full_res_width too (e.g. to the base_width)")
        self.image_shape = tuple(image_shape)
        self.start, n = plan_upsampling(image_shape)
        widths = _widths(base_width, n, max_width)
        self.start_width = widths[0]
        self.latent = nn.Sequential(
            nn.Linear(latent_dim, widths[0] * self.start**2), nn.LeakyReLU(0.2, inplace=True)
        )
        self.label_map = nn.Sequential(nn.Embedding(num_classes, embed_dim), nn.Linear(embed_dim, self.start**2))
        norm = lambda width: (ClassConditionalBatchNorm2d(width, num_classes, bn_eps, bn_momentum)
                              if conditional_batchnorm else nn.BatchNorm2d(width, eps=bn_eps, momentum=bn_momentum))
        layers: list[nn.Module] = []
        in_ch = widths[0] + 1  # + the label map
        for i, width in enumerate(widths):
            layers += [*doubling(in_ch, width, upsample, i), norm(width), nn.ReLU(inplace=True)]
            in_ch = width
        if full_res_width:
            layers += [*doubling(in_ch, full_res_width, upsample, len(widths)), norm(full_res_width), nn.ReLU(inplace=True)]
            for _ in range(full_res_blocks):
                layers += [nn.Conv2d(full_res_width, full_res_width, 3, 1, 1, bias=False), norm(full_res_width),
                           nn.ReLU(inplace=True)]
            layers += [nn.Conv2d(full_res_width, self.image_shape[0], 3, 1, 1, bias=False), nn.Tanh()]
        else:
            layers += [*doubling(in_ch, self.image_shape[0], upsample, len(widths)), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        features = self.latent(z).view(-1, self.start_width, self.start, self.start)
        label_map = self.label_map(labels).view(-1, 1, self.start, self.start)
        h = torch.cat([features, label_map], dim=1)
        for layer in self.net:
            h = layer(h, labels) if isinstance(layer, ClassConditionalBatchNorm2d) else layer(h)
        return h


class DCGANDiscriminator(ConvDiscriminator):
    def __init__(
        self,
        num_classes: int,
        image_shape: Sequence[int],
        base_width: int = 64,
        max_width: int = 512,
        embed_dim: int = 50,
        dropout: float = 0.0,  # article 002 uses 0.4 before the last layer
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
        spectral_norm: bool = False,
        conditioning: str = "concat",  # concat (article 002) | projection | acgan
        # FastGAN's self-supervised D (Liu et al. 2021): a small decoder redraws each real image at half
        # size from D's features at twice the start size, so D must keep what the image shows, not
        # just what tells it apart from fakes. The GAN adds model.objective.reconstruction_weight * MSE to D's loss.
        decoder: bool = False,
        # Channels of a 3x3 stride-1 conv at full size before the first downsampling (0: none, article 002):
        # D then looks at the finest pixels before anything is thrown away.
        stem_width: int = 0,
        # How each block halves the size (cgan/nets/resample.py): stride (a 4x4 stride-2 conv) | fir (the
        # [1, 3, 3, 1] low-pass first, StyleGAN2's D).
        downsample: str = "stride",
    ):
        super().__init__()
        _check_choice("model.discriminator.downsample", downsample, DOWNSAMPLING)
        self.image_shape = tuple(image_shape)
        self.conditioning = check_conditioning(conditioning)
        if conditioning == "multiply":
            raise ValueError("the dcgan discriminator supports conditioning concat, projection or acgan, "
                             "not multiply (that is the MLP's, article 004)")
        channels = self.image_shape[0]
        start, n = plan_upsampling(image_shape)
        self.label_map = None  # projection / acgan: the image alone goes in
        in_ch = channels
        if conditioning == "concat":
            self.label_map = nn.Sequential(
                nn.Embedding(num_classes, embed_dim), nn.Linear(embed_dim, channels * image_shape[1] * image_shape[2])
            )
            in_ch = 2 * channels  # image + label map of the same shape
        widths = list(reversed(_widths(base_width, n, max_width)))  # base ... widest
        widths.append(min(widths[-1] * 2, max_width))
        layers: list[nn.Module] = []
        if stem_width:
            layers += [nn.Conv2d(in_ch, stem_width, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True)]
            in_ch = stem_width
        for i, width in enumerate(widths):
            layers += halving(in_ch, width, downsample)
            if i > 0:  # DCGAN leaves D's first layer without BatchNorm
                layers.append(nn.BatchNorm2d(width, eps=bn_eps, momentum=bn_momentum))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch = width
        layers += [nn.Flatten(), nn.Dropout(dropout)]
        self.net = nn.Sequential(*layers)
        self.head = DiscriminatorHead(in_ch * start**2, num_classes, conditioning)
        self.decoder, self.decode_after = None, None
        if decoder:  # from the output of the next-to-last block (2 * start wide) up to half the image size
            self.decode_after = [i for i, m in enumerate(layers) if isinstance(m, nn.LeakyReLU)][-2]
            self.decoder = reconstruction_decoder(widths[-2], channels, 2 * start, image_shape[1] // 2, bn_eps, bn_momentum)
        self.apply(init_dcgan_weights)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward_with_reconstruction(self, images: torch.Tensor, labels: torch.Tensor, reconstruct: bool = True):
        """(logits, class logits or None, the decoder's half-size image in [-1, 1] or None)."""
        h, redrawn = self.with_label_map(images, labels), None
        for i, layer in enumerate(self.net):
            h = layer(h)
            if reconstruct and i == self.decode_after:
                redrawn = self.decoder(h)
        logits, class_logits = self.head(h, labels)
        return logits, class_logits, redrawn
