"""How a discriminator hears the label: the four ``conditioning`` choices shared by every D.

- ``concat`` (articles 000, 002): a label embedding joins the input (as features or image channels).
- ``multiply`` (article 004): a label embedding the size of the input scales it.
- ``projection`` (Miyato & Koyama 2018): D sees the image only; the label enters at the end as the
  inner product of a class embedding with D's features, added to the unconditional logit.
- ``acgan`` (Odena et al. 2017): D sees the image only and has a second head with ``num_classes``
  logits; D learns to classify real and fake images, G to make its images classify as asked.

The first two change D's input, the last two its head (``DiscriminatorHead``).
"""

from __future__ import annotations

import torch
from torch import nn

CONDITIONING = ("concat", "multiply", "projection", "acgan")
INPUT_CONDITIONING = ("concat", "multiply")


def check_conditioning(conditioning: str, allowed: tuple[str, ...] = CONDITIONING) -> str:
    if conditioning not in allowed:
        raise ValueError(f"unknown conditioning={conditioning!r}: use one of {', '.join(allowed)}")
    return conditioning


class DiscriminatorHead(nn.Module):
    """D's features (B, F) -> (adversarial logits (B,), class logits (B, num_classes) or None)."""

    def __init__(self, in_features: int, num_classes: int, conditioning: str):
        super().__init__()
        self.conditioning = check_conditioning(conditioning)
        self.linear = nn.Linear(in_features, 1)
        self.projection = nn.Embedding(num_classes, in_features) if conditioning == "projection" else None
        if self.projection is not None:
            nn.init.xavier_uniform_(self.projection.weight)  # N(0, 1) rows would swamp the linear logit
        self.classifier = nn.Linear(in_features, num_classes) if conditioning == "acgan" else None

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        logits = self.linear(features).squeeze(1)
        if self.projection is not None:
            logits = logits + (self.projection(labels) * features).sum(dim=1)
        class_logits = self.classifier(features) if self.classifier is not None else None
        return logits, class_logits


class ConvDiscriminator(nn.Module):
    """What the convolutional Ds (dcgan, resnet) share: the concat label map stacked on the image, and
    ``forward`` as :meth:`forward_with_reconstruction` without the decoder (subclasses define that)."""

    label_map: nn.Module | None
    image_shape: tuple[int, ...]

    def with_label_map(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """concat: the label's image-sized map joins the image as channels; otherwise the image alone."""
        if self.label_map is None:
            return images
        return torch.cat([images, self.label_map(labels).view(-1, *self.image_shape)], dim=1)

    def forward(self, images: torch.Tensor, labels: torch.Tensor, return_class_logits: bool = False):
        """Logits (B,); with ``return_class_logits``, (logits, class logits (B, K) for acgan else None)."""
        logits, class_logits, _ = self.forward_with_reconstruction(images, labels, reconstruct=False)
        return (logits, class_logits) if return_class_logits else logits
