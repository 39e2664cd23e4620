"""Spectral normalisation for discriminators (Miyato et al. 2018)."""

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def apply_spectral_norm(net: nn.Module) -> nn.Module:
    """Every Linear, Conv2d and Embedding (label embeddings, the projection) of ``net`` gets its largest
    singular value held at 1 (a power iteration per forward), which keeps D Lipschitz and its gradients
    to G tame."""
    for name, child in net.named_children():
        if isinstance(child, (nn.Linear, nn.Conv2d, nn.Embedding)):
            setattr(net, name, spectral_norm(child))
        else:
            apply_spectral_norm(child)
    return net
