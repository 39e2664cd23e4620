"""The in-memory fast path serves what torchvision's pipeline serves, once per epoch, reshuffled."""

import torch
from torchvision import datasets, transforms

from cgan.data import InMemoryImages, MNISTDataModule
from cgan.data.base import InMemoryBatches, to_unit_range


def epoch_of(stream):
    images, labels = zip(*stream)
    return torch.cat(images), torch.cat(labels)


def test_fast_path_matches_torchvision_pipeline(fake_mnist):
    data_dir, _, _ = fake_mnist
    dm = MNISTDataModule(data_dir=str(data_dir), val_fraction=0.0, batch_size=7)
    dm.setup("fit")
    stream = InMemoryBatches(dm.train_set, batch_size=7, shuffle=True, drop_last=False)
    ours_x, ours_y = epoch_of(stream)
    ours_x = to_unit_range(ours_x)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    reference = datasets.MNIST(str(data_dir), train=True, transform=tf)
    ref_x = torch.stack([reference[i][0] for i in range(len(reference))])
    ref_y = torch.tensor([reference[i][1] for i in range(len(reference))])

    def canonical(x, y):  # order-free comparison: sort by label then pixel content
        keys = [(int(label), image.flatten().tolist()) for image, label in zip(x, y)]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        return x[order], y[order]

    ours_x, ours_y = canonical(ours_x, ours_y)
    ref_x, ref_y = canonical(ref_x, ref_y)
    assert torch.equal(ours_y, ref_y)
    assert torch.allclose(ours_x, ref_x, atol=1e-6)


def make_set(n=50):
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return InMemoryImages(images, torch.arange(n) % 10)


def test_each_sample_once_per_epoch_and_reshuffled_each_epoch():
    stream = InMemoryBatches(make_set(50), batch_size=8, shuffle=True, drop_last=False, seed=3)
    epoch0 = epoch_of(stream)[0][:, 0, 0, 0].tolist()
    epoch1 = epoch_of(stream)[0][:, 0, 0, 0].tolist()
    assert sorted(epoch0) == list(range(50)) and sorted(epoch1) == list(range(50))
    assert epoch0 != epoch1
    again = InMemoryBatches(make_set(50), batch_size=8, shuffle=True, drop_last=False, seed=3)
    assert epoch_of(again)[0][:, 0, 0, 0].tolist() == epoch0  # same seed, same epoch, same order
    assert len(stream) == 7 and len(InMemoryBatches(make_set(50), 8, True, drop_last=True)) == 6


def test_ranks_share_an_epoch_without_overlap():
    parts = [epoch_of(InMemoryBatches(make_set(50), 5, True, False, seed=1, rank=r, world_size=2))[0]
             for r in (0, 1)]
    a, b = (set(p[:, 0, 0, 0].tolist()) for p in parts)
    assert len(a) == len(b) == 25 and not a & b


def test_resume_skips_the_batches_already_trained():
    full = epoch_of(InMemoryBatches(make_set(50), 5, True, False, seed=2))[0]
    resumed = InMemoryBatches(make_set(50), 5, True, False, seed=2, resume=(0, 4))
    assert torch.equal(epoch_of(resumed)[0], full[20:])
