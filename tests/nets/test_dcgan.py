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
    with pytest.raises(UserError, match="upsample='bicubic' is not one of transpose, nearest, bilinear, fir"):
        DCGANGenerator(latent_dim=10, num_classes=2, image_shape=(3, 32, 32), upsample="bicubic")
    with pytest.raises(UserError, match="downsample='avg'"):
        DCGANDiscriminator(num_classes=2, image_shape=(3, 32, 32), downsample="avg")
    with pytest.raises(UserError, match="full_res_blocks=1 needs full-size layers"):
        DCGANGenerator(latent_dim=10, num_classes=2, image_shape=(3, 32, 32), full_res_blocks=1)


def test_the_fir_low_pass_removes_a_period_2_mesh_and_keeps_smooth_images():
    from cgan.nets.resample import LowPass

    sign = torch.ones(16, 16)
    sign[::2, 1::2] = sign[1::2, ::2] = -1
    ramp = torch.linspace(-1, 1, 16)[None, :].expand(16, 16)
    for padding in ((1, 2, 1, 2), (2, 1, 2, 1)):
        low_pass = LowPass(1, padding)
        assert low_pass(sign[None, None]).abs().max() < 1e-6  # the checkerboard: nothing passes
        mesh = torch.zeros(16, 16)
        mesh[::2, ::2] = 1  # one pixel in four: only its mean (0.25) passes
        assert torch.allclose(low_pass(mesh[None, None]), torch.full((1, 1, 16, 16), 0.25), atol=1e-6)
        assert low_pass(ramp[None, None]).shape == (1, 1, 16, 16)
    assert LowPass(1, (1, 2, 1, 2)).state_dict() == {}  # a fixed filter: checkpoints without it still load


@pytest.mark.parametrize("upsample", ["transpose", "nearest", "bilinear", "fir"])
def test_every_upsampling_with_full_size_blocks_and_a_low_passed_d(upsample):
    g = DCGANGenerator(latent_dim=16, num_classes=3, image_shape=(3, 32, 32), base_width=8, upsample=upsample,
                       full_res_width=8, full_res_blocks=2, conditional_batchnorm=True)
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
             for m in g.modules() if type(m) is torch.nn.Conv2d]
    images = g(torch.randn(2, 16), torch.tensor([0, 2]))
    for h in hooks:
        h.remove()
    assert images.shape == (2, 3, 32, 32) and images.abs().max() <= 1
    assert shapes[-3:] == [(2, 8, 32, 32), (2, 8, 32, 32), (2, 3, 32, 32)]  # two full-size blocks, then RGB
    d = DCGANDiscriminator(num_classes=3, image_shape=(3, 32, 32), base_width=8, stem_width=4, downsample="fir",
                           conditioning="projection", decoder=True)
    logits, _, redrawn = d.forward_with_reconstruction(images, torch.tensor([0, 2]))
    assert logits.shape == (2,) and redrawn.shape == (2, 3, 16, 16)
    logits.sum().backward()
    assert d.net[0].weight.grad.abs().sum() > 0  # the full-size stem is trained
