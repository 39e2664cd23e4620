"""model=resnet with every method around it (EMA, DiffAugment + ADA, top-k, decoder, attention, spectral norm
in G) trains, samples, exports and serves (ADA's p and top-k alone: tests/model/test_ada.py, test_objective.py)."""

import lightning as L
import pytest
import torch
from conftest import TINY_DCGAN, compose_train, make_folder

from cgan.data import build_datamodule
from cgan.generation import load_generator, sample
from cgan.training import build_model, train

TINY_RESNET = [o for o in TINY_DCGAN if not o.startswith("model.")] + [
    "model=resnet", "model.generator.base_width=4", "model.discriminator.base_width=4", "model.latent_dim=16",
    "callbacks.generation_metrics=null", "callbacks.class_grid.every_n_batches=0"]

EVERYTHING = ["model.ema.decay=0.9", "model.augment.policy=[color,translation,cutout]", "model.augment.ada_target=0.6",
              "model.augment.ada_images=64", "model.objective.topk_gamma=0.5", "model.discriminator.decoder=true",
              "model.generator.attention=16", "model.discriminator.attention=16",
              "model.generator.spectral_norm=true", "model.penalty.r1_gamma=0.1", "model.penalty.interval=2"]


@pytest.fixture(scope="module")
def resnet_run(tmp_path_factory):
    root = make_folder(tmp_path_factory.mktemp("folder") / "photos")
    run_dir = tmp_path_factory.mktemp("resnet_run")
    cfg = compose_train(run_dir, [*TINY_RESNET, *EVERYTHING, f"data.root={root}", f"paths.cache_dir={run_dir}/cache"])
    L.seed_everything(cfg.seed)
    before = build_model(cfg, build_datamodule(cfg)).state_dict()
    return before, train(cfg), run_dir


def test_resnet_trains_with_every_method(resnet_run):
    before, run, _ = resnet_run
    after = run.model.state_dict()
    for prefix in ("generator.", "discriminator.", "generator_ema."):
        assert any(not torch.equal(before[k], after[k]) for k in after if k.startswith(prefix)), prefix
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
    assert run.trainer.global_step == 8
    # ADA: 4 batches of 4 images, one update of p by +-(4 x 4) / 64 from 0; saved for a resume
    assert run.model.augment.ada_state[0].item() in (0.0, 0.25) and "augment.ada_state" in after


def test_resnet_checkpoint_samples_exports_and_serves(resnet_run, tmp_path):
    _, run, run_dir = resnet_run
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    trained = load_generator(ckpt)
    assert type(trained.net).__name__ == "ResNetGenerator" and trained.image_shape == (3, 32, 32)
    out = sample(str(ckpt), labels=["rock"], n_per_label=3, out_dir=str(tmp_path / "samples"))
    assert sorted(p.name for p in (out / "rock").iterdir()) == ["0000.png", "0001.png", "0002.png"]

    from cgan.generation.export import export
    z, labels = torch.randn(3, 16, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2])
    with torch.no_grad():
        expected = trained.net(z, labels)
    scripted = export(ckpt, "torchscript", tmp_path / "g.pt")
    assert torch.allclose(torch.jit.load(str(scripted))(z, labels), expected, atol=1e-5)
    ort = pytest.importorskip("onnxruntime")
    onnx_file = export(ckpt, "onnx", tmp_path / "g.onnx")
    images = ort.InferenceSession(str(onnx_file)).run(["images"], {"noise": z.numpy(), "labels": labels.numpy()})[0]
    assert torch.allclose(torch.from_numpy(images), expected, atol=1e-4)

    pytest.importorskip("gradio")
    from cgan.app.open_file import open_backend
    backend = open_backend(str(onnx_file))
    assert backend.class_names == ["paper", "rock", "scissors"] and tuple(backend.image_shape) == (3, 32, 32)


def _module(overrides, tmp_path):
    root = make_folder(tmp_path / "photos")
    cfg = compose_train(tmp_path, [*TINY_RESNET, f"data.root={root}", f"paths.cache_dir={tmp_path}/cache", *overrides])
    return build_model(cfg, build_datamodule(cfg))
