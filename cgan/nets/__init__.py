"""Generators and discriminators: plain nn.Modules, no Lightning in here.

Every generator is called as ``G(z, labels) -> images`` in [-1, 1] of shape
(B, *image_shape); every discriminator as ``D(images, labels) -> logits`` of
shape (B,), or with ``return_class_logits=True`` as ``(logits, class logits or
None)`` (an acgan D's second head; see conditioning.py). Both are built from
``latent_dim`` (G), ``num_classes`` and ``image_shape``, which the DataModule
supplies.
"""

from cgan.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from cgan.nets.mlp import MLPDiscriminator, MLPGenerator
from cgan.nets.resnet import ResNetDiscriminator, ResNetGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator", "ResNetDiscriminator",
           "ResNetGenerator"]
