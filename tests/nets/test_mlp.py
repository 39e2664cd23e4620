"""MLP nets build for the data's shape, as article 000 draws them; spectral norm holds."""
import pytest
import torch

from cgan.nets import MLPDiscriminator, MLPGenerator


@pytest.mark.parametrize("conditioning", ["concat", "multiply"])
def test_mlp_shapes(conditioning):
    g = MLPGenerator(latent_dim=100, num_classes=10, image_shape=(1, 28, 28), conditioning=conditioning)
    d = MLPDiscriminator(num_classes=10, image_shape=(1, 28, 28), conditioning=conditioning)
    z, y = torch.randn(4, 100), torch.tensor([0, 3, 5, 9])
    images = g(z, y)
    assert images.shape == (4, 1, 28, 28) and images.abs().max() <= 1
    assert d(images, y).shape == (4,)


def test_article_architecture():
    g = MLPGenerator(latent_dim=100, num_classes=10, image_shape=(1, 28, 28))
    widths = [m.out_features for m in g.net if isinstance(m, torch.nn.Linear)]
    assert widths == [128, 256, 512, 1024, 784]
    bns = [m for m in g.net if isinstance(m, torch.nn.BatchNorm1d)]
    assert [b.num_features for b in bns] == [256, 512, 1024]
    assert all(b.eps == 1e-5 and b.momentum == 0.1 for b in bns)  # not the article's eps=0.8 slip
    d = MLPDiscriminator(num_classes=10, image_shape=(1, 28, 28))
    assert [m.out_features for m in d.net if isinstance(m, torch.nn.Linear)] == [512, 256]
    assert d.head.linear.out_features == 1 and d.head.projection is None and d.head.classifier is None
    assert [m.num_features for m in d.net if isinstance(m, torch.nn.BatchNorm1d)] == [256]


@pytest.mark.parametrize("make", [
    lambda: MLPDiscriminator(num_classes=10, image_shape=(1, 28, 28), spectral_norm=True),
    lambda: __import__("cgan.nets", fromlist=["DCGANDiscriminator"]).DCGANDiscriminator(
        num_classes=3, image_shape=(3, 32, 32), base_width=8, spectral_norm=True),
])
def test_spectral_norm_holds_each_layer_near_unit_norm(make):
    d = make()
    layers = [m for m in d.net.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    images = torch.randn(8, *((1, 28, 28) if isinstance(d, MLPDiscriminator) else (3, 32, 32)))
    labels = torch.zeros(8, dtype=torch.long)
    d.train()
    for _ in range(30):  # power iterations run in training-mode forwards
        d(images, labels)
    d.eval()
    for m in layers:
        w = m.weight.flatten(1)
        assert float(torch.linalg.matrix_norm(w.detach(), ord=2)) == pytest.approx(1.0, abs=0.1)
