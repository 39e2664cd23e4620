"""Every preset with a time cap keeps a budget on every device, and a run says at start when it stops and what
its device changed (a laptop's run of rps_best must not silently train 300 epochs)."""

import logging
import re

import pytest
from conftest import ROOT, compose_train

from cgan.training.budget import budget_words, say_the_budget

CAPPED = sorted(path.stem for path in (ROOT / "conf" / "experiment").glob("*.yaml")
                if "max_time_by_accelerator" in path.read_text())


def said_at_start(tmp_path, overrides, caplog) -> str:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cgan.training.budget"):
        say_the_budget(compose_train(tmp_path, overrides))
    return caplog.text


def test_the_capped_presets_are_the_ones_the_pages_name():
    assert CAPPED == ["mnist_5min", "rps_best", "rps_resnet"]


@pytest.mark.parametrize("experiment", CAPPED)
def test_a_mac_laptop_keeps_the_cpu_time_cap(tmp_path, caplog, experiment):
    cpu = said_at_start(tmp_path, [f"experiment={experiment}"], caplog)
    mps = said_at_start(tmp_path, [f"experiment={experiment}", "trainer=mps"], caplog)
    cap = re.search(r"trainer\.max_time=[0-9:]+", cpu).group()
    assert cap in mps
    assert "trains differently from a CPU" not in mps  # same size, width, batch and cap as the CPU


@pytest.mark.parametrize("experiment", CAPPED)
def test_a_gpu_run_says_its_epoch_or_step_count_and_what_differs_from_a_cpu(tmp_path, caplog, experiment):
    text = said_at_start(tmp_path, [f"experiment={experiment}", "trainer=gpu"], caplog)
    stops = re.search(r"This run stops (.*)", text).group(1)
    assert "max_time" not in stops and re.search(r"after \d+ (epochs|optimizer steps)", stops), text
    assert "trains differently from a CPU" in text and "on a CPU: after" in text and "max_time=" in text
    if experiment.startswith("rps"):  # the gestures grow to article 002's size off a CPU
        assert "photo size 128 (64 on a CPU)" in text and "G width" in text


def test_the_article_002_command_on_a_gpu_names_its_size_batch_and_epochs(tmp_path, caplog):
    text = said_at_start(tmp_path, ["model=dcgan", "data=rps", "trainer.accelerator=gpu"], caplog)
    assert "photo size 128 (64 on a CPU); batch 128 (64 on a CPU); stops after 100 epochs (on a CPU: after 20 epochs)" in text


def test_budget_words_name_every_limit_and_an_uncapped_run(tmp_path):
    cfg = compose_train(tmp_path, ["trainer.max_time=00:00:04:40", "trainer.max_steps=100"])
    assert budget_words(cfg.trainer) == ("after 4 min 40 s (trainer.max_time=00:00:04:40) or after 100 optimizer "
                                         "steps (50 batches) or after 20 epochs, whichever comes first")
    cfg = compose_train(tmp_path, ["trainer.max_epochs=-1"])
    assert budget_words(cfg.trainer).startswith("only when stopped")
