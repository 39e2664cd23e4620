"""The fully connected CGAN of seed article 000 (and the multiplied-embedding variant of 004).

Generator: [z ; embed(label)] -> 128 -> 256 -> 512 -> 1024 -> prod(image_shape), Tanh.
BatchNorm on every hidden layer but the first, LeakyReLU(0.2) everywhere.
Discriminator: [flatten(x) ; embed(label)] -> 512 -> 256 -> one logit; its ``conditioning`` may
also be ``projection`` or ``acgan`` (see cgan/nets/conditioning.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from cgan.nets.conditioning import INPUT_CONDITIONING, DiscriminatorHead, check_conditioning
from cgan.nets.spectral import apply_spectral_norm


class MLPGenerator(nn.Module):
    def __init__(
        self,
        latent_dim: int,
        num_classes: int,
        image_shape: Sequence[int],
        hidden_dims: Sequence[int] = (128, 256, 512, 1024),
        embed_dim: int | None = None,
        conditioning: str = "concat",
        negative_slope: float = 0.2,  # 0 makes it a plain ReLU (article 001's G)
        batchnorm: bool = True,
        batchnorm_first_layer: bool = False,  # article 000: no; the Keras CGAN of 004: yes
        # Article 000 writes BatchNorm1d(n, 0.8): the second positional argument
        # is eps, not momentum (a slip copied from a popular reference). We
        # default to PyTorch's eps=1e-5, momentum=0.1; set bn_eps=0.8 to
        # reproduce the article exactly. (Keras' momentum=0.8 is PyTorch's 0.2.)
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ):
        super().__init__()
        # projection and acgan are ways for D to use the label; G always takes it with its input.
        check_conditioning(conditioning, INPUT_CONDITIONING)
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.image_shape = tuple(image_shape)
        self.conditioning = conditioning
        if conditioning == "multiply":  # 004: the embedding scales the noise, same size as z
            self.label_embedding = nn.Embedding(num_classes, latent_dim)
            in_dim = latent_dim
        else:
            self.label_embedding = nn.Embedding(num_classes, embed_dim or num_classes)
            in_dim = latent_dim + self.label_embedding.embedding_dim

        layers: list[nn.Module] = []
        for i, width in enumerate(hidden_dims):
            layers.append(nn.Linear(in_dim, width))
            if batchnorm and (i > 0 or batchnorm_first_layer):
                layers.append(nn.BatchNorm1d(width, eps=bn_eps, momentum=bn_momentum))
            layers.append(nn.LeakyReLU(negative_slope, inplace=True))
            in_dim = width
        layers += [nn.Linear(in_dim, math.prod(self.image_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        emb = self.label_embedding(labels)
        h = z * emb if self.conditioning == "multiply" else torch.cat([z, emb], dim=1)
        return self.net(h).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    def __init__(
        self,
        num_classes: int,
        image_shape: Sequence[int],
        hidden_dims: Sequence[int] = (512, 256),
        embed_dim: int | None = None,
        conditioning: str = "concat",
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        # Article 000 puts BatchNorm1d(256, 0.8) before D's last LeakyReLU; real
        # and fake batches go through D separately, so each is normalised by its
        # own statistics (under DDP, Trainer(sync_batchnorm=True) keeps them global).
        batchnorm: bool = True,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
        spectral_norm: bool = False,
    ):
        super().__init__()
        self.conditioning = check_conditioning(conditioning)
        image_dim = math.prod(image_shape)
        self.label_embedding, in_dim = None, image_dim  # projection / acgan: the image alone goes in
        if conditioning == "multiply":  # 004: the embedding scales the flattened image
            self.label_embedding = nn.Embedding(num_classes, image_dim)
        elif conditioning == "concat":
            self.label_embedding = nn.Embedding(num_classes, embed_dim or num_classes)
            in_dim = image_dim + self.label_embedding.embedding_dim

        layers: list[nn.Module] = []
        for i, width in enumerate(hidden_dims):
            layers.append(nn.Linear(in_dim, width))
            if batchnorm and i > 0:
                layers.append(nn.BatchNorm1d(width, eps=bn_eps, momentum=bn_momentum))
            layers.append(nn.LeakyReLU(negative_slope, inplace=True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_dim = width
        self.net = nn.Sequential(*layers)
        # Logits, not probabilities: the losses apply the sigmoid themselves.
        self.head = DiscriminatorHead(in_dim, num_classes, conditioning)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, images: torch.Tensor, labels: torch.Tensor, return_class_logits: bool = False):
        """Logits (B,); with ``return_class_logits``, (logits, class logits (B, K) for acgan else None)."""
        h = images.flatten(1)
        if self.conditioning == "multiply":
            h = h * self.label_embedding(labels)
        elif self.conditioning == "concat":
            h = torch.cat([h, self.label_embedding(labels)], dim=1)
        logits, class_logits = self.head(self.net(h), labels)
        return (logits, class_logits) if return_class_logits else logits
