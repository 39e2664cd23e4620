"""The DCGAN nets build for every supported size, initialise as specified, refuse others."""
import pytest
import torch

from cgan.errors import UserError
from cgan.nets import DCGANDiscriminator, DCGANGenerator


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64), (3, 128, 128)])
def test_dcgan_shapes_and_sizes(shape):
    g = DCGANGenerator(latent_dim=100, num_classes=3, image_shape=shape)
    d = DCGANDiscriminator(num_classes=3, image_shape=shape)
    y = torch.tensor([0, 2])
    images = g(torch.randn(2, 100), y)
    assert images.shape == (2, *shape) and images.abs().max() <= 1
    assert d(images, y).shape == (2,)
    n_g = sum(p.numel() for p in g.parameters())
    assert 1e5 < n_g < 2e7  # article 002's 128x128 G has about 7.8M


def test_dcgan_init_as_specified():
    g = DCGANGenerator(latent_dim=100, num_classes=3, image_shape=(3, 64, 64), base_width=32)
    convs = [m.weight for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    bns = [m.weight for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    w = torch.cat([c.flatten() for c in convs])
    assert abs(w.mean()) < 2e-3 and abs(w.std() - 0.02) < 2e-3
    b = torch.cat([x.flatten() for x in bns])
    assert abs(b.mean() - 1) < 0.01 and abs(b.std() - 0.02) < 0.01


def test_dcgan_refuses_sizes_it_cannot_build():
    with pytest.raises(UserError, match="cannot build 50x50"):
        DCGANGenerator(latent_dim=10, num_classes=2, image_shape=(3, 50, 50))
