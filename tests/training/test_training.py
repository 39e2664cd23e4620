"""A short real training run: what a user finds in the run dir afterwards."""

import math
import re

import lightning as L
import pytest
import torch
from conftest import TINY, compose_train, run_cli
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cgan.cli.train import main as train_main
from cgan.data import build_datamodule
from cgan.training import build_model, train


def test_run_writes_events_with_losses_and_grid_images(trained_run):
    run_dir, _, _ = trained_run
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    for tag in ["train/d_loss", "train/g_loss", "train/d_real_prob", "train/d_fake_prob"]:
        assert f"{tag}_step" in scalars and f"{tag}_epoch" in scalars, sorted(scalars)
        assert all(math.isfinite(e.value) for e in events.Scalars(f"{tag}_step"))
    assert "val/d_real_prob" in scalars
    assert "samples/per_class" in events.Tags()["images"]
    # The HParams tab gets the final metrics beside the settings.
    assert "hp/train/d_loss" in scalars and "hp/val/d_real_prob" in scalars
    # Step-level scalars use the batch axis: 20 batches logged every 2.
    steps = [e.step for e in events.Scalars("train/d_loss_step")]
    assert steps == sorted(set(steps)) and max(steps) < 20


def test_run_writes_last_checkpoint_and_one_grid_row_per_class(trained_run):
    run_dir, cfg, _ = trained_run
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert (run_dir / "checkpoints" / "step0000020.ckpt").is_file()
    grids = sorted((run_dir / "grids").glob("*.png"))
    assert grids, "no grid PNG written"
    n, pad = cfg.callbacks.class_grid.n_per_class, 2
    width, height = Image.open(grids[-1]).size
    assert height == 10 * (28 + pad) + pad  # one row per digit
    assert width == n * (28 + pad) + pad


def test_losses_finite_and_both_nets_trained(trained_run):
    _, cfg, run = trained_run
    assert run.trainer.global_step == 40
    for key in ["train/d_loss", "train/g_loss", "val/d_real_prob"]:
        assert math.isfinite(run.metrics[key])
    # Rebuild the nets exactly as training initialised them (same seed, same order).
    L.seed_everything(cfg.seed)
    initial = build_model(cfg, build_datamodule(cfg))
    for net in ["generator", "discriminator"]:
        before = torch.cat([p.flatten() for p in getattr(initial, net).parameters()])
        after = torch.cat([p.flatten() for p in getattr(run.model, net).parameters()])
        assert not torch.allclose(before, after), f"{net} did not change"


def test_checkpoint_is_enough_to_rebuild_the_generator(trained_run):
    run_dir, _, _ = trained_run
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    hp = ckpt["hyper_parameters"]
    assert hp["data"]["class_names"] == [str(d) for d in range(10)]
    assert hp["data"]["image_shape"] == [1, 28, 28] and hp["latent_dim"] == 100
    assert hp["generator"]["_target_"] == "cgan.nets.MLPGenerator"


def test_resume_continues_the_global_step(trained_run, tmp_path):
    run_dir, _, _ = trained_run
    cfg = compose_train(tmp_path, [*TINY, "trainer.max_steps=60", f"ckpt_path={run_dir}/checkpoints/last.ckpt"])
    resumed = train(cfg)
    assert resumed.trainer.global_step == 60  # 40 restored + 10 more batches of D and G steps


def test_d_steps_per_g_step_skips_generator_steps(tmp_path):
    no_callback_tiny = [o for o in TINY if not o.startswith("callbacks.")]
    cfg = compose_train(tmp_path, [*no_callback_tiny, "model.optimizer.d_steps_per_g_step=2", "trainer.max_steps=12",
                                   "callbacks=none", "logger=none"])
    run = train(cfg)
    opt_g, opt_d = run.model.optimizers()
    g_steps = opt_g.optimizer.state[next(iter(run.model.generator.parameters()))]["step"]
    d_steps = opt_d.optimizer.state[next(iter(run.model.discriminator.parameters()))]["step"]
    assert (int(d_steps), int(g_steps)) == (8, 4)  # 8 batches: D every batch, G every second


@pytest.mark.parametrize("warmup, expected_decay", [(False, 0.9), (True, 0.1)])  # warm-up: (1 + 0) / (10 + 0)
def test_ema_moves_toward_the_live_weights_at_the_configured_rate(tmp_path, warmup, expected_decay):
    cfg = compose_train(tmp_path, [*TINY, "model.ema.decay=0.9", f"model.ema.warmup={str(warmup).lower()}"])
    model = build_model(cfg, build_datamodule(cfg))
    before = [p.clone() for p in model.generator_ema.parameters()]
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(1.0)
    live = [p.clone() for p in model.generator.parameters()]
    model.ema.update(model.generator, g_updates=0, batch_images=16)  # the first G update
    for ema, old, new in zip(model.generator_ema.parameters(), before, live):
        assert torch.allclose(ema, expected_decay * old + (1 - expected_decay) * new, atol=1e-6)
    assert model.sampling_generator is model.generator_ema


def test_ema_warmup_ramps_the_decay_up_to_the_configured_value(tmp_path):
    cfg = compose_train(tmp_path, [*TINY, "model.ema.decay=0.999"])
    model = build_model(cfg, build_datamodule(cfg))
    decays = [model.ema.decay_now(g_updates, batch_images=16) for g_updates in (0, 10, 100, 1000, 10_000)]
    assert decays == pytest.approx([0.1, 11 / 20, 101 / 110, 1001 / 1010, 0.999])


def test_ema_generator_is_saved_and_sampled(tmp_path):
    from cgan.generation import load_generator

    run = train(compose_train(tmp_path, [*TINY, "model.ema.decay=0.99", "trainer.max_steps=10"]))
    ckpt_path = tmp_path / "checkpoints" / "last.ckpt"
    state = torch.load(ckpt_path, weights_only=True)["state_dict"]
    assert any(k.startswith("generator_ema.") for k in state)
    loaded = load_generator(ckpt_path)
    for (name, value) in loaded.net.state_dict().items():
        assert torch.equal(value, state[f"generator_ema.{name}"])
    assert not torch.equal(state["generator_ema.net.0.weight"], state["generator.net.0.weight"])
    assert run.trainer.global_step == 10


def test_last_checkpoint_holds_the_final_weights_between_periodic_saves(tmp_path):
    # 7 batches = 14 steps: periodic saves at 4, 8, 12; training ends at 14, between two saves.
    no_callback_tiny = [o for o in TINY if not o.startswith("callbacks.")]
    run = train(compose_train(tmp_path, [*no_callback_tiny, "trainer.max_steps=14", "trainer.limit_val_batches=0",
                                         "callbacks.model_checkpoint.every_n_train_steps=4", "logger=none"]))
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == run.trainer.global_step == 14
    final = run.model.generator.state_dict()
    assert all(torch.equal(last["state_dict"][f"generator.{k}"], v) for k, v in final.items())


def test_stdout_that_is_not_a_terminal_gets_progress_lines_not_a_bar(tmp_path, capfd):
    """A pipe, as CI, nohup and SLURM give (pytest's capture is one): the default console settings,
    Lightning's bar enabled."""
    code, _ = run_cli(train_main, "data.source=sample", "data.batch_size=16", "trainer.max_steps=200",
                      "callbacks.class_grid.every_n_batches=0", "callbacks.generation_metrics=null",
                      "console.interval_s=0.2", f"hydra.run.dir={tmp_path / 'run'}")
    assert code == 0
    written = "".join(capfd.readouterr())
    assert "\r" not in written  # no redrawn bar
    assert "img/s" in written  # but progress lines
    assert len(written) < 20_000, f"{len(written)} characters for 100 batches"
    # What a user needs to act on: where it writes and how to watch it first, the time left as it goes, and at
    # the end the checkpoint, the command that samples it and the one that trains it as long again.
    lines = written.splitlines()
    run_dir = str(tmp_path / "run")
    assert f"This run writes to {run_dir}; watch it with: tensorboard --logdir {run_dir}" in lines[0]
    progress = [line for line in lines if "img/s" in line]
    assert progress and all(re.search(r"img/s  \d+:\d\d left", line) for line in progress), progress[:2]
    assert "Done: outputs in" in written and "checkpoints/last.ckpt" in written
    assert f"Sample it: python sample.py ckpt_path={run_dir} 'labels=[0]'" in written
    assert re.search(rf"Train it longer: .* hydra.run.dir={run_dir} ckpt_path=last trainer.max_epochs=40 trainer.max_steps=400", written)


def test_the_end_time_and_the_longer_run_follow_the_cap():
    from datetime import datetime

    from omegaconf import OmegaConf

    from cgan.training.budget import end_by, longer
    from cgan.training.progress import clock

    start = datetime(2026, 12, 6, 9, 41)
    capped = OmegaConf.create({"max_time": "00:00:28:00", "max_epochs": 300})
    assert end_by(capped, start) == ", by 10:09 at the latest"
    assert end_by(OmegaConf.create({"max_time": "01:00:00:00"}), start) == ", by 09:41 on Mon 07 Dec at the latest"
    assert end_by(OmegaConf.create({"max_epochs": 20}), start) == ""
    assert longer(capped) == "trainer.max_time=00:00:56:00 trainer.max_epochs=600"
    assert longer(OmegaConf.create({"max_epochs": 20, "max_steps": -1})) == "trainer.max_epochs=40"
    assert longer(OmegaConf.create({"max_epochs": -1, "max_steps": 500})) == "trainer.max_steps=1000"
    assert longer(OmegaConf.create({"max_epochs": -1, "max_steps": -1})) == ""
    assert (clock(65), clock(3725)) == ("1:05", "1:02:05")
