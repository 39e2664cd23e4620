"""The residual (BigGAN-style) nets build for every supported size, hear the class, and refuse what they cannot build."""
import pytest
import torch

from cgan.errors import UserError
from cgan.nets import ResNetDiscriminator, ResNetGenerator
from cgan.nets.resnet import ConditionalBatchNorm, SelfAttention


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64)])
def test_resnet_shapes_and_sizes(shape):
    g = ResNetGenerator(latent_dim=20, num_classes=3, image_shape=shape, base_width=8)
    d = ResNetDiscriminator(num_classes=3, image_shape=shape, base_width=8)
    y = torch.tensor([0, 2])
    images = g(torch.randn(2, 20), y)
    assert images.shape == (2, *shape) and images.abs().max() <= 1
    assert d(images, y).shape == (2,)


def test_resnet_128_builds_with_attention_at_32():
    g = ResNetGenerator(latent_dim=120, num_classes=3, image_shape=(3, 128, 128), base_width=8, attention=32)
    d = ResNetDiscriminator(num_classes=3, image_shape=(3, 128, 128), base_width=8, attention=32)
    assert len(g.blocks) == 5 and g.chunks == [20] * 6  # 4 -> 128: five doublings, six z chunks
    assert isinstance(g.attention, SelfAttention) and isinstance(d.attention, SelfAttention)
    images = g(torch.randn(1, 120), torch.tensor([1]))
    assert images.shape == (1, 3, 128, 128) and d(images, torch.tensor([1])).shape == (1,)


def test_every_block_hears_the_class():
    """Same noise, different classes: different images; the class reaches G through its BatchNorms."""
    torch.manual_seed(0)
    g = ResNetGenerator(latent_dim=20, num_classes=3, image_shape=(3, 32, 32), base_width=8).eval()
    for m in g.modules():  # trained-looking gains, so the class changes the picture
        if isinstance(m, ConditionalBatchNorm):
            torch.nn.init.normal_(m.gain.weight, 0, 0.5)
    z = torch.randn(1, 20).repeat(3, 1)
    images = g(z, torch.tensor([0, 1, 2]))
    assert (images[0] - images[1]).abs().mean() > 1e-3 and (images[1] - images[2]).abs().mean() > 1e-3
    assert sum(isinstance(m, ConditionalBatchNorm) for m in g.modules()) == 2 * len(g.blocks)


@pytest.mark.parametrize("conditioning", ["projection", "concat", "acgan"])
def test_discriminator_conditionings_and_gradients(conditioning):
    d = ResNetDiscriminator(num_classes=3, image_shape=(3, 32, 32), base_width=8, conditioning=conditioning)
    images = torch.randn(4, 3, 32, 32, requires_grad=True)
    logits, class_logits = d(images, torch.tensor([0, 1, 2, 0]), return_class_logits=True)
    assert logits.shape == (4,)
    assert (class_logits is not None) == (conditioning == "acgan")
    logits.sum().backward()
    classifier = set(d.head.classifier.parameters()) if d.head.classifier is not None else set()
    assert images.grad.abs().sum() > 0
    assert all(p.grad is not None for p in d.parameters() if p not in classifier)


def test_spectral_norm_on_d_by_default_and_on_g_when_asked():
    def normalised(net):
        return sum(hasattr(m, "parametrizations") for m in net.modules())

    d = ResNetDiscriminator(num_classes=3, image_shape=(3, 32, 32), base_width=8)
    assert normalised(d) > 0
    assert normalised(ResNetDiscriminator(num_classes=3, image_shape=(3, 32, 32), base_width=8,
                                          spectral_norm=False)) == 0
    g = ResNetGenerator(latent_dim=20, num_classes=3, image_shape=(3, 32, 32), base_width=8, spectral_norm=True)
    assert normalised(g) > 0 and not hasattr(g.shared, "parametrizations")
    assert normalised(ResNetGenerator(latent_dim=20, num_classes=3, image_shape=(3, 32, 32), base_width=8)) == 0


def test_decoder_redraws_at_half_size():
    d = ResNetDiscriminator(num_classes=3, image_shape=(3, 64, 64), base_width=8, decoder=True)
    logits, _, redrawn = d.forward_with_reconstruction(torch.randn(2, 3, 64, 64), torch.tensor([0, 1]))
    assert logits.shape == (2,) and redrawn.shape == (2, 3, 32, 32)
    assert d(torch.randn(2, 3, 64, 64), torch.tensor([0, 1])).shape == (2,)


def test_without_hierarchical_z_the_whole_z_goes_to_the_first_layer():
    g = ResNetGenerator(latent_dim=16, num_classes=2, image_shape=(3, 32, 32), base_width=8, hierarchical_z=False)
    assert g.latent.in_features == 16 and g(torch.randn(2, 16), torch.tensor([0, 1])).shape == (2, 3, 32, 32)


def test_resnet_refuses_what_it_cannot_build():
    with pytest.raises(UserError, match="the resnet model cannot build 50x50"):
        ResNetGenerator(latent_dim=20, num_classes=2, image_shape=(3, 50, 50))
    with pytest.raises(UserError, match="attention=12 is not a feature-map size"):
        ResNetGenerator(latent_dim=20, num_classes=2, image_shape=(3, 32, 32), attention=12)
    with pytest.raises(UserError, match="latent_dim=3 is too small"):
        ResNetGenerator(latent_dim=3, num_classes=2, image_shape=(3, 64, 64))
