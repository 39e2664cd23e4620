"""Conditional GANs on PyTorch Lightning + Hydra.

The flow (see README): config -> DataModule (knows num_classes, image_shape,
class_names) -> nets built for that shape -> ConditionalGAN -> Trainer.fit ->
callbacks log losses and one grid row per class -> checkpoint -> sampling.
"""

from cgan.errors import UserError

__all__ = ["UserError"]
