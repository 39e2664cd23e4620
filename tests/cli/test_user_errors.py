"""Missing values, broken checkpoint files, a full disk and the Trainer keys README promises: one line each."""

import errno
from pathlib import Path

import pytest
import torch
from conftest import CONF_DIR, TINY, compose_train, run_cli
from omegaconf import OmegaConf

from cgan.cli.evaluate import main as evaluate_main
from cgan.cli.export import main as export_main
from cgan.cli.sample import main as sample_main
from cgan.cli.train import main as train_main
from cgan.config import MISSING_EXAMPLES
from cgan.errors import UserError
from cgan.training import train


def required_keys_in_conf() -> list[tuple[str, str]]:
    """Every `???` of conf/ as (the dotted key a user sets, the config file); group files sit under their
    group's name."""
    keys = []
    for path in sorted(Path(CONF_DIR).rglob("*.yaml")):
        if "???" not in path.read_text():
            continue
        rel = path.relative_to(CONF_DIR)
        prefix = "" if len(rel.parts) == 1 or "@package _global_" in path.read_text() else ".".join(rel.parts[:-1]) + "."
        keys += [(prefix + key, str(rel)) for key in missing_in(OmegaConf.to_container(OmegaConf.load(path)))]
    return keys


def missing_in(node: dict, prefix: str = "") -> list[str]:
    found = []
    for key, value in node.items():
        if isinstance(value, dict):
            found += missing_in(value, f"{prefix}{key}.")
        elif value == "???":
            found.append(f"{prefix}{key}")
    return found


def test_every_required_key_has_an_example_for_its_error():
    keys = {key for key, _ in required_keys_in_conf()}
    assert {"data.root", "ckpt_path"} <= keys
    assert keys <= set(MISSING_EXAMPLES), keys - set(MISSING_EXAMPLES)


# The entry point that reads each primary config.
ENTRY_OF = {"train.yaml": train_main, "sample.yaml": sample_main, "evaluate.yaml": evaluate_main,
            "export.yaml": export_main}


@pytest.mark.parametrize("key, file", required_keys_in_conf())
def test_a_missing_required_value_is_one_sentence_with_an_example(tmp_path, key, file):
    if "/" in file:  # a group file: choose it for training
        group, choice = file.removesuffix(".yaml").split("/")
        code, stderr = run_cli(train_main, f"{group}={choice}", "model=dcgan", f"hydra.run.dir={tmp_path}/run")
    else:
        code, stderr = run_cli(ENTRY_OF[file])
    assert code == 2
    assert key in stderr and MISSING_EXAMPLES[key].split(" ")[0] in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


def broken_checkpoints(folder: Path, good: Path) -> dict[str, Path]:
    """A partial copy of a real checkpoint and a text file named .ckpt."""
    truncated = folder / "truncated.ckpt"
    data = good.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    text = folder / "notes.ckpt"
    text.write_text("these are my notes, not weights\n")
    return {"truncated": truncated, "text": text}


class Payload:
    """What a stranger's checkpoint may carry: an object whose unpickling runs code (here: makes a file)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("entry", ["train", "sample", "evaluate", "export", "app"])
def test_a_checkpoint_carrying_code_is_refused_and_the_code_never_runs(trained_run, tmp_path, entry):
    run_dir, _, _ = trained_run
    marker = tmp_path / "payload_ran"
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    ckpt["hyper_parameters"]["latent_dim"] = Payload(marker)
    poisoned = tmp_path / "poisoned.ckpt"
    torch.save(ckpt, poisoned)
    args = {"train": (train_main, "data.source=sample", f"ckpt_path={poisoned}", f"hydra.run.dir={tmp_path}/r"),
            "sample": (sample_main, f"ckpt_path={poisoned}", f"out_dir={tmp_path}/out"),
            "evaluate": (evaluate_main, "data.source=sample", f"ckpt_path={poisoned}",
                         f"classifier_path={tmp_path}/judge.pt"),
            "export": (export_main, f"ckpt_path={poisoned}", f"out={tmp_path}/g.pt")}
    if entry == "app":
        pytest.importorskip("gradio", reason="the app extra is not installed")
        from cgan.cli.app import main as app_main
        args["app"] = (app_main, f"ckpt_path={poisoned}", "port=7999")
    main, *cli_args = args[entry]
    code, stderr = run_cli(main, *cli_args)
    assert code == 2 and "not a readable PyTorch checkpoint" in stderr, stderr
    assert not marker.exists()  # refused by weights_only=True before anything ran
    with pytest.raises(Exception):  # the file does carry code: plain unpickling would have run it
        torch.load(poisoned, weights_only=True)


@pytest.mark.parametrize("kind", ["truncated", "text"])
@pytest.mark.parametrize("entry", ["train", "sample", "evaluate"])
def test_a_broken_checkpoint_file_is_named_in_one_line(trained_run, tmp_path, kind, entry):
    run_dir, _, _ = trained_run
    bad = broken_checkpoints(tmp_path, run_dir / "checkpoints" / "last.ckpt")[kind]
    if entry == "train":
        code, stderr = run_cli(train_main, "data.source=sample", f"ckpt_path={bad}", f"hydra.run.dir={tmp_path}/r")
    elif entry == "sample":
        code, stderr = run_cli(sample_main, f"ckpt_path={bad}", f"out_dir={tmp_path}/out")
    else:
        code, stderr = run_cli(evaluate_main, "data.source=sample", f"ckpt_path={bad}",
                               f"classifier_path={tmp_path}/judge.pt")
    assert code == 2, stderr
    assert str(bad) in stderr and "not a readable PyTorch checkpoint" in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


def test_sample_without_ckpt_path_uses_the_newest_run_or_says_there_is_none(trained_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stderr = run_cli(sample_main, "labels=[3]", "n_per_label=1", "out_dir=out")
    assert code == 2 and "no trained run under outputs/" in stderr and "python train.py" in stderr
    assert "Traceback" not in stderr

    run_dir, _, _ = trained_run
    for name in ("old", "new"):  # two runs; the one written last is taken
        folder = tmp_path / "outputs" / name / "checkpoints"
        folder.mkdir(parents=True)
        (folder / "last.ckpt").write_bytes((run_dir / "checkpoints" / "last.ckpt").read_bytes())
    (tmp_path / "outputs" / "old" / "checkpoints" / "last.ckpt").write_text("broken, and older")
    import os
    os.utime(tmp_path / "outputs" / "old" / "checkpoints" / "last.ckpt", (0, 0))
    code, stderr = run_cli(sample_main, "labels=[3]", "n_per_label=1", "out_dir=out")
    assert code == 0, stderr
    assert (tmp_path / "out" / "3").is_dir()


def test_a_full_disk_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    from lightning.fabric.plugins.io import torch_io

    real_save, calls = torch_io._atomic_save, []

    def save_until_the_disk_is_full(checkpoint, path):
        calls.append(path)
        if len(calls) > 1:  # the first save works, the next finds no space
            Path(path).write_bytes(b"half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(checkpoint, path)

    monkeypatch.setattr(torch_io, "_atomic_save", save_until_the_disk_is_full)
    run_dir = tmp_path / "run"
    cfg = compose_train(run_dir, [*TINY, "callbacks.model_checkpoint.every_n_train_steps=10",
                                  "callbacks.model_checkpoint.save_top_k=0", "callbacks.generation_metrics=null"])
    with pytest.raises(UserError, match="No space left on device.*previous last.ckpt is untouched and loadable"):
        train(cfg)
    last = run_dir / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 10
    assert not list(last.parent.glob("*.tmp"))  # the half-written file is gone


def test_trainer_keys_readme_promises_are_plain_overrides(tmp_path):
    cfg = compose_train(tmp_path, ["trainer.max_time=00:00:10:00", "trainer.limit_train_batches=5",
                                   "trainer.fast_dev_run=true", "trainer.overfit_batches=2",
                                   "trainer.profiler=simple", "trainer.detect_anomaly=true"])
    assert cfg.trainer.max_time == "00:00:10:00" and cfg.trainer.profiler == "simple"


@pytest.mark.slow
def test_max_time_stops_a_run_and_leaves_its_checkpoint(tmp_path):
    cfg = compose_train(tmp_path, [*TINY, "trainer.max_steps=-1", "trainer.max_epochs=-1",
                                   "trainer.max_time=00:00:00:03", "callbacks.generation_metrics=null"])
    run = train(cfg)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == run.trainer.global_step > 0


def test_gradient_accumulation_is_refused_in_one_sentence(tmp_path):
    code, stderr = run_cli(train_main, "data.source=sample", "trainer.accumulate_grad_batches=4",
                           f"hydra.run.dir={tmp_path}/run")
    assert code == 2 and "accumulate_grad_batches=4" in stderr and "data.batch_size" in stderr
    assert "Traceback" not in stderr


def test_every_checkpoint_read_in_the_package_refuses_code():
    """Every torch.load in cgan/ passes weights_only=True (tensors and plain containers only)."""
    import re

    package = Path(__file__).resolve().parents[2] / "cgan"
    calls = []
    for path in package.rglob("*.py"):
        source = path.read_text()
        for match in re.finditer(r"torch\.load\(", source):
            depth, end = 0, match.end() - 1
            for end in range(match.end() - 1, len(source)):  # to the parenthesis that closes the call
                depth += {"(": 1, ")": -1}.get(source[end], 0)
                if depth == 0:
                    break
            calls.append((path.name, source[match.start():end + 1]))
    assert calls and all("weights_only=True" in call for _, call in calls), calls
