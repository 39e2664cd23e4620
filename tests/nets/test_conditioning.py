"""How D hears the label (concat, projection, acgan) and class-conditional BatchNorm in G."""
import pytest
import torch

from cgan.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator
from cgan.nets.dcgan import ClassConditionalBatchNorm2d


@pytest.mark.parametrize("make", [
    lambda c: MLPDiscriminator(num_classes=10, image_shape=(1, 28, 28), conditioning=c),
    lambda c: DCGANDiscriminator(num_classes=10, image_shape=(1, 28, 28), base_width=8, conditioning=c),
])
@pytest.mark.parametrize("conditioning", ["concat", "projection", "acgan"])
def test_discriminator_outputs(make, conditioning):
    d = make(conditioning)
    images, labels = torch.randn(5, 1, 28, 28), torch.tensor([0, 1, 2, 3, 9])
    assert d(images, labels).shape == (5,)
    logits, class_logits = d(images, labels, return_class_logits=True)
    assert logits.shape == (5,)
    if conditioning == "acgan":
        assert class_logits.shape == (5, 10)  # one logit per class
    else:
        assert class_logits is None


def test_conditional_batchnorm_gives_each_class_its_own_scale_and_shift():
    g = DCGANGenerator(latent_dim=8, num_classes=3, image_shape=(1, 16, 16), base_width=4,
                       conditional_batchnorm=True)
    norms = [m for m in g.modules() if isinstance(m, ClassConditionalBatchNorm2d)]
    assert norms and all(m.scale.num_embeddings == 3 for m in norms)
    with torch.no_grad():
        norms[0].shift.weight[2] += 5.0  # only class 2's shift changes
    z = torch.randn(6, 8)
    g.eval()
    before = g(z, torch.tensor([0, 0, 1, 1, 2, 2]))
    assert before.shape == (6, 1, 16, 16)
    with torch.no_grad():
        norms[0].shift.weight[2] -= 5.0
    after = g(z, torch.tensor([0, 0, 1, 1, 2, 2]))
    assert torch.equal(before[:4], after[:4]) and not torch.allclose(before[4:], after[4:])


def test_projection_logit_depends_on_the_label_through_the_inner_product():
    d = MLPDiscriminator(num_classes=3, image_shape=(1, 4, 4), hidden_dims=[8], batchnorm=False,
                         conditioning="projection").eval()
    images = torch.randn(2, 1, 4, 4)
    features = d.net(images.flatten(1))
    for label in range(3):
        labels = torch.full((2,), label)
        expected = d.head.linear(features).squeeze(1) + (d.head.projection(labels) * features).sum(1)
        assert torch.allclose(d(images, labels), expected)
    assert not torch.allclose(d(images, torch.zeros(2, dtype=torch.long)), d(images, torch.ones(2, dtype=torch.long)))
