"""What a newcomer passes is what the commands take: run dirs as checkpoints, a mismatched checkpoint answered
before any data is read or downloaded."""

import pytest
from conftest import run_cli

from cgan.cli.evaluate import main as evaluate_main
from cgan.cli.sample import main as sample_main


def test_sample_and_export_take_a_run_dir_as_ckpt_path(gesture_checkpoint, tmp_path):
    run_dir = gesture_checkpoint.parent.parent
    out = tmp_path / "samples"
    code, stderr = run_cli(sample_main, f"ckpt_path={run_dir}", "labels=[rock]", "n_per_label=2", f"out_dir={out}")
    assert code == 0, stderr
    assert sorted(p.name for p in (out / "rock").iterdir()) == ["0000.png", "0001.png"]

    from cgan.generation.export import export
    written = export(run_dir, "torchscript", tmp_path / "g.pt")
    assert written.is_file()


def test_a_folder_without_checkpoints_is_one_sentence(tmp_path):
    code, stderr = run_cli(sample_main, f"ckpt_path={tmp_path}", f"out_dir={tmp_path / 's'}")
    assert code == 2 and "is a folder without checkpoints/last.ckpt" in stderr


@pytest.mark.parametrize("data,message", [
    (["data.image_size=64"], "the checkpoint draws 3x32x32 images, the data gives 3x64x64; pass data.image_size=32"),
    (["data=mnist"], "the checkpoint draws classes ['paper', 'rock', 'scissors'], the data "
                                            "holds ['0', '1'"),
])
def test_evaluate_answers_a_mismatched_checkpoint_before_reading_data(gesture_checkpoint, tmp_path, data, message):
    cache = tmp_path / "cache"
    args = ["data=image_folder", f"data.root={tmp_path / 'nowhere'}"] if data[0].startswith("data.image") else []
    code, stderr = run_cli(evaluate_main, f"ckpt_path={gesture_checkpoint}", *args, *data,
                           f"paths.data_dir={tmp_path / 'data'}", f"paths.cache_dir={cache}",
                           f"paths.judge_dir={tmp_path / 'judges'}")
    assert code == 2 and message in stderr, stderr
    assert not cache.exists() and not (tmp_path / "data").exists()  # nothing decoded or downloaded


def test_a_gpu_sized_checkpoint_gets_its_classifier_and_its_scores_at_its_own_size(tmp_path):
    """A 128x128 checkpoint (a GPU's rps_best) with data=rps on a CPU, whose own default is 64: cgan-judge
    ckpt_path=... makes the 128 px classifier and cgan-evaluate scores at 128, neither told the size."""
    from conftest import TINY_DCGAN, compose_train, make_folder

    from cgan.cli.judge import main as judge_main
    from cgan.training import train

    data_dir = tmp_path / "data"
    make_folder(data_dir / "rps", per_class=12)
    run_dir = tmp_path / "run"
    paths = [f"paths.data_dir={data_dir}", f"paths.cache_dir={tmp_path / 'cache'}",
             f"paths.judge_dir={tmp_path / 'judges'}"]
    train(compose_train(run_dir, [*TINY_DCGAN, "data.image_size=128", f"data.root={data_dir / 'rps'}",
                                  "trainer.max_steps=2", *paths[1:]]))
    code, stderr = run_cli(judge_main, "data=rps", f"ckpt_path={run_dir}", "epochs=1", "check_disturbances=false",
                           "strict=false", *paths)
    assert code == 0, stderr
    assert [p.name for p in (tmp_path / "judges").iterdir()] == ["rps128.pt"]
    code, stderr = run_cli(evaluate_main, f"ckpt_path={run_dir}", "data=rps", "n_per_class=8", *paths)
    assert code == 0, stderr
    assert (run_dir / "checkpoints" / "last_metrics.json").is_file()
