"""The LightningModule (manual optimization: a D step, then a G step), its losses and augmentation."""

from cgan.model.gan import ConditionalGAN, apply_speed_options
from cgan.nets.build import build_discriminator, build_generator  # re-exported: where they were

__all__ = ["ConditionalGAN", "apply_speed_options", "build_discriminator", "build_generator"]
