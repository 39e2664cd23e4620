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


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 64, 64)])
@pytest.mark.parametrize("full_res_width", [0, 8])
def test_nearest_upsampling_builds_every_size_without_transposed_convs(shape, full_res_width):
    g = DCGANGenerator(latent_dim=16, num_classes=3, image_shape=shape, base_width=8, upsample="nearest",
                       full_res_width=full_res_width, conditional_batchnorm=True)
    images = g(torch.randn(2, 16), torch.tensor([0, 2]))
    assert images.shape == (2, *shape) and images.abs().max() <= 1
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in g.modules())
    doublings = sum(isinstance(m, torch.nn.Upsample) for m in g.modules())
    assert shape[1] == g.start * 2**doublings


def test_full_res_block_adds_a_conv_at_the_image_size():
    g = DCGANGenerator(latent_dim=16, num_classes=3, image_shape=(3, 32, 32), base_width=8, full_res_width=12)
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
             for m in g.modules() if isinstance(m, torch.nn.Conv2d)]
    g(torch.randn(2, 16), torch.tensor([0, 1]))
    for h in hooks:
        h.remove()
    assert shapes == [(2, 3, 32, 32)]  # transpose upsampling: the only plain conv is the RGB layer, at full size
    assert any(isinstance(m, torch.nn.BatchNorm2d) and m.num_features == 12 for m in g.modules())


def test_unknown_upsampling_is_refused():
    with pytest.raises(UserError, match="upsample='bilinear'"):
        DCGANGenerator(latent_dim=10, num_classes=2, image_shape=(3, 32, 32), upsample="bilinear")
