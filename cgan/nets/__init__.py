"""Generators and discriminators: plain nn.Modules, no Lightning in here.

Every generator is called as ``G(z, labels) -> images`` in [-1, 1] of shape
(B, *image_shape); every discriminator as ``D(images, labels) -> logits`` of
shape (B,). Both are built from ``latent_dim``, ``num_classes`` and
``image_shape``, which the DataModule supplies.
"""

from cgan.nets.mlp import MLPDiscriminator, MLPGenerator

__all__ = ["MLPDiscriminator", "MLPGenerator"]
