"""The developer tools run end to end on tiny budgets and print the figures they promise."""

import numpy as np
import pytest
import torch

from cgan.tools import app_bench, bench, quality, sweep_bench

TINY_RUN = ["data.source=sample", "data.batch_size=16", "print_config=false"]


# A small conv preset with every method the plain loop writes out.
SAME_MATH = ["model=dcgan", "data.source=sample", "data.batch_size=8",
             "model.generator.base_width=8", "model.discriminator.base_width=8", "model.generator.conditional_batchnorm=true",
             "model.discriminator.conditioning=projection", "model.discriminator.decoder=true",
             "model.augment=[color,translation,cutout]", "model.r1_gamma=0.5", "model.r1_interval=2",
             "model.loss=rpgan", "model.r2_gamma=0.5",
             "model.ema_decay=0.9", "print_config=false"]
# The math alone: the plain loop keeps PyTorch's default layout, which rounds differently from channels_last.
SAME_LAYOUT = ["model.channels_last=false"]


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
    bench.main(["--batches", "2", "--warmup", "1", "--repeats", "1", *TINY_RUN, "model.topk_gamma=0.9"])
    out = capsys.readouterr().out
    assert "plain loop: not timed (it does not write out model.topk_gamma)" in out
    assert "\nframework " in out and "framework / plain" not in out  # timed, and no ratio against nothing


def test_the_plain_loop_does_the_frameworks_math(tmp_path):
    """Same initial weights, random stream and batches: the hand-written step and ConditionalGAN end on
    the same weights, so the bench compares like with like."""
    import lightning as L

    from cgan.data import build_datamodule
    from cgan.tools.bench import autocast_dtype
    from cgan.tools.plain_loop import PlainLoop
    from cgan.training import build_model, build_trainer, compose_train_config

    class Recorder(L.Callback):
        def on_train_start(self, trainer, pl_module):
            self.start = {k: v.clone() for k, v in pl_module.state_dict().items()}
            self.rng = torch.get_rng_state()
            self.batches = []

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self.batches.append([t.clone() for t in batch])

    # float32: bit-level agreement is checked where reduced precision cannot hide a difference in the math.
    cfg = compose_train_config([*SAME_MATH, *SAME_LAYOUT, "callbacks=none", "logger=none", "trainer.max_steps=12",
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


def test_quality_scores_along_the_budget(sample_judge, tmp_path, monkeypatch, capsys):
    _, _, data_dir = sample_judge
    monkeypatch.chdir(tmp_path)  # it writes its run under ./outputs/quality/
    quality.main(["--images", "320", "--every", "160", "--n-per-class", "10", *TINY_RUN,
                  f"paths.judge_dir={data_dir}/judges"])
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()[:1].isdigit()]
    assert [int(row[0].replace(",", "")) for row in rows] == [160, 320]  # images seen at each measure
    assert all(0 <= float(row[2]) <= 1 for row in rows)  # conditional accuracy
    assert list((tmp_path / "outputs" / "quality").iterdir())


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


def test_crosscheck_trains_its_classifier_and_scores_a_checkpoint(gesture_checkpoint, tmp_path, monkeypatch, capsys):
    from conftest import make_folder

    from cgan.tools import crosscheck

    root = make_folder(tmp_path / "photos", per_class=12)
    monkeypatch.chdir(tmp_path)  # the classifier goes to ./outputs/judges/
    data = ["data=image_folder", f"data.root={root}", "data.image_size=32", f"paths.cache_dir={tmp_path}/cache"]
    crosscheck.main(["train", "--epochs", "1", "--n-per-class", "4", *data])
    out = capsys.readouterr().out
    assert "cross-check classifier: test accuracy" in out and "held-out test photos" in out
    assert "resized bilinear" in out  # what a softer resize of the same photos reads as
    assert len(list((tmp_path / "outputs" / "judges").glob("crosscheck_imagefolder32.pt"))) == 1
    crosscheck.main(["calibrate", "--n-per-class", "4", *data])  # the saved classifier's tables again
    assert "resized bilinear" in capsys.readouterr().out
    crosscheck.main(["score", str(gesture_checkpoint), "--n-per-class", "4", "--rejection", "2", *data,
                     "--grid", str(tmp_path / "grid.png")])
    row = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith(str(gesture_checkpoint))]
    accuracy, fid, ratio, precision, recall = (float(v) for v in row[0][1:])
    assert 0 <= accuracy <= 1 and fid >= 0 and 0 <= precision <= 1 and 0 <= recall <= 1
    from PIL import Image
    # 8 columns of 32-pixel images (padding 2)
    assert Image.open(tmp_path / "grid.png").size[0] == 8 * 34 + 2


def test_wide_photos_squash_the_subject_across_a_green_frame(tmp_path):
    from PIL import Image

    from cgan.tools import wide_photos

    (tmp_path / "src" / "rock").mkdir(parents=True)
    pixels = np.full((30, 30, 3), 255, np.uint8)
    pixels[10:20, 10:20] = (120, 80, 60)  # a brown "hand" on white
    Image.fromarray(pixels).save(tmp_path / "src" / "rock" / "a.png")
    wide_photos.main([str(tmp_path / "src"), str(tmp_path / "dst"), "--size", "45x20", "--compare",
                      str(tmp_path / "fits.png")])
    assert Image.open(tmp_path / "fits.png").size == (2 + 66, 2 + 3 * 66)  # one class, rows crop / pad / stretch
    out = np.asarray(Image.open(tmp_path / "dst" / "rock" / "a.png"))
    assert out.shape == (20, 45, 3)
    assert tuple(out[0, 0]) == (40, 160, 60) and out[10, 22, 0] < 160  # green background, the hand kept


def test_budget_curve_draws_fid_and_precision_per_preset(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    from cgan.tools.budget_curve import main

    table = tmp_path / "curve.csv"
    table.write_text("preset,images,fid_x_floor,precision,recall\nold,30016,12.5,0.08,0.8\nold,60032,6.1,0.10,0.85\n"
                     "new,30016,8.0,0.20,0.7\nnew,60032,3.9,0.31,0.75\n")
    main([str(table), str(tmp_path / "curve.png")])
    width, height = Image.open(tmp_path / "curve.png").size
    assert width > height > 200


def test_reference_machine_prints_each_presets_rate_and_full_run(monkeypatch, capsys):
    from cgan.tools import reference_machine

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
    """python -m cgan.tools.profile_step on a tiny DCGAN with R1: the operator table (convolutions on oneDNN's
    kernels), the step's own phases, and each layer of G and D."""
    from cgan.tools import profile_step

    profile_step.main(["--warmup", "2", "--batches", "4", "model=dcgan", "model.generator.base_width=8",
                       "model.discriminator.base_width=8", "model.r1_gamma=1", "data.source=sample",
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
