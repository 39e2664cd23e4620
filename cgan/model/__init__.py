"""The LightningModule (the loop: a D step, then a G step), its objective, options and the objects that own
the method state (EMA, ADA, the divergence guard)."""

from cgan.model.gan import ConditionalGAN
from cgan.nets.build import apply_speed_options, build_discriminator, build_generator  # re-exported

__all__ = ["ConditionalGAN", "apply_speed_options", "build_discriminator", "build_generator"]
