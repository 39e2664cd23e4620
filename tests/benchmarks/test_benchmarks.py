"""The developer benchmarks (benchmarks/, not installed) run end to end on tiny budgets and print the figures
they promise."""

import json

import numpy as np
import pytest
import torch

from benchmarks import app_bench, bench, sweep_bench

TINY_RUN = ["data.source=sample", "data.batch_size=16", "print_config=false"]


# A small conv preset with every method the plain loop writes out.
SAME_MATH = ["model=dcgan", "data.source=sample", "data.batch_size=8",
             "model.generator.base_width=8", "model.discriminator.base_width=8", "model.generator.conditional_batchnorm=true",
             "model.discriminator.conditioning=projection", "model.discriminator.decoder=true",
             "model.augment.policy=[color,translation,cutout]", "model.penalty.r1_gamma=0.5", "model.penalty.interval=2",
             "model.objective.loss=rpgan", "model.penalty.r2_gamma=0.5",
             "model.ema.decay=0.9", "print_config=false"]
# The math alone: the plain loop keeps PyTorch's default layout, which rounds differently from channels_last.
SAME_LAYOUT = ["model.speed.channels_last=false"]


@pytest.mark.slow
def test_bench_times_both_and_breaks_a_batch_into_phases(capsys):
    bench.main(["--batches", "3", "--warmup", "1", "--repeats", "1", *SAME_MATH])
    out = capsys.readouterr().out
    assert "framework / plain loop:" in out
    table = out.split("pipeline", 1)[1].split("framework / plain", 1)[0]
    figures = {line.split()[0]: float(line.split()[1]) for line in table.splitlines()[1:] if line.strip()}
    assert figures["framework"] > 0 and figures["plain"] > 0
    phases = out.split("where a batch goes", 1)[1]
    for phase in ("G forward", "augment", "D forward", "decoder loss", "R1 penalty", "D backward",
                  "G backward", "EMA update", "data", "grid (10 x 8)", "checkpoint, every"):
        assert phase in phases, phase
    assert "GFLOP per batch" in out and "conv 3x3" in out


def test_bench_times_a_method_the_plain_loop_lacks_through_the_framework_alone(capsys):
    bench.main(["--batches", "2", "--warmup", "1", "--repeats", "1", *TINY_RUN, "model.objective.topk_gamma=0.9"])
    out = capsys.readouterr().out
    assert "plain loop: not timed (it does not write out model.objective.topk_gamma)" in out
    assert "\nframework " in out and "framework / plain" not in out  # timed, and no ratio against nothing


def test_the_plain_loop_does_the_frameworks_math(tmp_path):
    """Same initial weights, random stream and batches: the hand-written step and ConditionalGAN end on
    the same weights, so the bench compares like with like."""
    import lightning as L

    from benchmarks.bench import autocast_dtype
    from benchmarks.plain_loop import PlainLoop
    from cgan.config import compose
    from cgan.data import build_datamodule
    from cgan.training import build_model, build_trainer

    class Recorder(L.Callback):
        def on_train_start(self, trainer, pl_module):
            self.start = {k: v.clone() for k, v in pl_module.state_dict().items()}
            self.rng = torch.get_rng_state()
            self.batches = []

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self.batches.append([t.clone() for t in batch])

    # float32: bit-level agreement is checked where reduced precision cannot hide a difference in the math.
    cfg = compose("train", [*SAME_MATH, *SAME_LAYOUT, "callbacks=none", "logger=none", "trainer.max_steps=12",
                                "trainer.precision=32-true",
                                "trainer.limit_val_batches=0", "+trainer.num_sanity_val_steps=0"], tmp_path)
    datamodule = build_datamodule(cfg)
    model, recorder = build_model(cfg, datamodule), Recorder()
    trainer = build_trainer(cfg, [])
    trainer.callbacks.append(recorder)
    trainer.fit(model, datamodule=datamodule)

    twin = build_model(cfg, datamodule)
    twin.load_state_dict(recorder.start)
    torch.set_rng_state(recorder.rng)
    loop = PlainLoop(twin, torch.device("cpu"), autocast_dtype(cfg))  # the precision the framework chose
    for real, labels in recorder.batches:
        loop.step(real, labels)
    assert len(recorder.batches) == 6
    by_hand = {**{f"generator.{k}": v for k, v in loop.g.state_dict().items()},
               **{f"discriminator.{k}": v for k, v in loop.d.state_dict().items()},
               **{f"generator_ema.{k}": v for k, v in loop.g_ema.state_dict().items()}}
    assert by_hand.keys() == model.state_dict().keys()
    for name, value in model.state_dict().items():
        torch.testing.assert_close(by_hand[name], value, msg=name)
        # Under rpgan only differences of D's logits count, so the bias of its last layer gets no gradient.
        unmoved = name.endswith("num_batches_tracked") or name == "discriminator.head.linear.bias"
        assert unmoved or not torch.equal(value, recorder.start[name]), name


def test_sweep_bench_counts_the_images_its_jobs_trained(tmp_path):
    from omegaconf import OmegaConf

    for job, (steps, batch) in enumerate([(10, 16), (6, 32)]):
        ckpt = tmp_path / str(job) / "checkpoints" / "last.ckpt"
        ckpt.parent.mkdir(parents=True)
        torch.save({"global_step": steps}, ckpt)
        (tmp_path / str(job) / ".hydra").mkdir()
        OmegaConf.save({"data": {"batch_size": batch}}, tmp_path / str(job) / ".hydra" / "config.yaml")
    assert sweep_bench.images_trained(tmp_path) == 5 * 16 + 3 * 32  # D and G each count a step per batch


def test_app_bench_times_each_view(gesture_checkpoint, capsys):
    app_bench.main([str(gesture_checkpoint), "--repeats", "2", "--images", "4"])
    out = capsys.readouterr().out
    assert "3x32x32 images" in out
    rows = [line for line in out.splitlines() if line.startswith(("class grid", "every class", "walk"))]
    assert len(rows) == 3 and all(np.isfinite(float(row.split()[-2])) for row in rows)


def test_budget_curve_draws_fid_and_precision_per_preset(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    from benchmarks.budget_curve import main

    table = tmp_path / "curve.csv"
    table.write_text("preset,images,fid_x_floor,precision,recall\nold,30016,12.5,0.08,0.8\nold,60032,6.1,0.10,0.85\n"
                     "new,30016,8.0,0.20,0.7\nnew,60032,3.9,0.31,0.75\n")
    main([str(table), str(tmp_path / "curve.png")])
    width, height = Image.open(tmp_path / "curve.png").size
    assert width > height > 200


def test_reference_machine_prints_each_presets_rate_and_full_run(monkeypatch, capsys):
    from benchmarks import reference_machine

    monkeypatch.setattr(reference_machine, "PRESETS", [
        ("python train.py", [], 4),
        ("tiny dcgan, 3 epochs", ["model=dcgan", "model.generator.base_width=8", "model.discriminator.base_width=8",
                                  "trainer.max_epochs=3"], 2)])
    reference_machine.main(["--repeats", "1", "data.source=sample", "data.batch_size=16"])
    out = capsys.readouterr().out
    assert "peaks measured: float32 matmul" in out and "bf16 matmul" in out and ("AVX" in out or "unknown" in out)
    assert "bf16 matrix units: " in out  # AMX, AVX512-BF16 or none, as PyTorch finds them
    rows = [line for line in out.splitlines() if line.startswith("| `")]
    assert len(rows) == 4  # each preset in float32 and in bf16-mixed
    mlp = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert mlp[1] == "32-true" and [cell.strip() for cell in rows[1].strip("|").split("|")][1] == "bf16-mixed"
    assert mlp[2] == "28x28" and mlp[3] == "16" and float(mlp[4].replace(",", "")) > 0
    assert mlp[5] == "20 epochs" and mlp[6] == f"{20 * (4500 // 16) * 16:,}"  # the bundled 4,500 training digits
    assert rows[2].split("|")[6].strip() == "3 epochs"


def test_profile_step_names_the_kinds_phases_and_layers_of_a_step(capsys):
    """python -m benchmarks.profile_step on a tiny DCGAN with R1: the operator table (convolutions on oneDNN's
    kernels), the step's own phases, and each layer of G and D."""
    from benchmarks import profile_step

    profile_step.main(["--warmup", "2", "--batches", "4", "model=dcgan", "model.generator.base_width=8",
                       "model.discriminator.base_width=8", "model.penalty.r1_gamma=1", "data.source=sample",
                       "data.batch_size=16", "trainer.precision=32-true"])
    out = capsys.readouterr().out
    assert "4 batches of 16 in 32-true" in out and "images/s" in out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    assert "conv" in rows
    if torch.backends.mkldnn.is_available():  # the CPU's fast path, named as such
        assert "mkldnn_convolution" in rows["conv"]
    assert {"step/G forward", "step/D loss (D forward, penalties)", "step/D backward + optimizer",
            "step/G backward + optimizer", "step/R1 gradient"} <= set(rows)
    assert any(name.startswith("G.net.") for name in rows) and any(name.startswith("D.") for name in rows)


def test_score_steps_reads_images_seen_and_prints_a_row_per_checkpoint(tmp_path, monkeypatch, capsys):
    from omegaconf import OmegaConf

    from benchmarks import score_steps

    (tmp_path / "checkpoints").mkdir()
    (tmp_path / ".hydra").mkdir()
    OmegaConf.save({"data": {"batch_size": 32}}, tmp_path / ".hydra" / "config.yaml")
    metrics = {"conditional_accuracy": 0.98, "fid": 22.0, "fid_floor": 1.1, "precision": 0.2, "recall": 0.8,
               "strict_fid": 0.6, "strict_precision": 0.04, "spectral_distance": 0.1,
               "spectrum_bands": {"1-2": 1.0, "28-32": 1.12}}
    for batches in (625, 1250):
        ckpt = tmp_path / "checkpoints" / f"step{2 * batches:07d}.ckpt"
        torch.save({"loops": {"fit_loop": {"epoch_loop.state_dict": {"_batches_that_stepped": batches}}}}, ckpt)
        ckpt.with_name(ckpt.stem + "_metrics.json").write_text(json.dumps(metrics))  # scored before
    score_steps.main([str(tmp_path), "--images", "40000"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 4")]
    assert rows == ["| 40,000 | 0.980 | 22.00 (20x) | 0.200 | 0.800 | 0.60 | 0.040 | 0.100 | 1.00 1.12 |"]


def test_first_hour_finds_readmes_commands_and_what_a_run_must_say(tmp_path):
    from conftest import run_script

    from benchmarks import first_hour

    quickstart = first_hour.readme_block("Quickstart")
    assert quickstart[0].startswith("git clone") and any(line.startswith("python train.py") for line in quickstart)
    assert first_hour.readme_block("Tests")[-1] == "pytest"
    result = run_script("train.py", *TINY_RUN, "trainer.max_steps=4", "trainer.max_time=00:00:10:00",
                        "console.progress=log", "console.interval_s=0.001", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert first_hour.check_training_output(result.stdout + result.stderr) == []
    assert first_hour.check_training_output("nothing") == [
        "its folder at start", "the tensorboard command", "the clock time it ends", "progress lines with the time left",
        "the sample command at the end", "the train-longer command at the end"]


def test_generator_readouts_swap_the_ema_generator(tmp_path):
    """--live puts the live G where sampling reads; --standing keeps the EMA weights and recomputes only the
    BatchNorm statistics, from the EMA G's own activations."""
    from pathlib import Path

    from benchmarks import generator_readouts
    from cgan.generation import load_generator

    fixture = Path(__file__).parents[1] / "fixtures" / "flat_options_checkpoint" / "last.ckpt"
    before = torch.load(fixture, map_location="cpu", weights_only=True)["state_dict"]
    ema = {k: v for k, v in before.items() if k.startswith("generator_ema.")}
    assert ema

    live = torch.load(generator_readouts.readout(fixture, tmp_path / "live", live=True), weights_only=True)["state_dict"]
    for key in ema:
        assert torch.equal(live[key], before["generator." + key[len("generator_ema."):]])

    standing = torch.load(generator_readouts.readout(fixture, tmp_path / "standing", standing=3),
                          weights_only=True)["state_dict"]
    moved = [k for k in ema if not torch.equal(standing[k], ema[k])]
    assert moved and all(k.endswith(("running_mean", "running_var", "num_batches_tracked")) for k in moved)
    trained = load_generator(tmp_path / "standing" / "checkpoints" / "last.ckpt")
    images = trained.net(torch.randn(4, trained.latent_dim), torch.zeros(4, dtype=torch.long))
    assert torch.isfinite(images).all()
