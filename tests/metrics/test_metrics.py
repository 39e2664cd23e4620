"""The domain classifier and the metrics built on it."""

import json

import pytest
import torch
from conftest import TINY, compose_train, run_cli

from cgan.cli.evaluate import main as evaluate_main
from cgan.metrics import frechet_distance, score
from cgan.metrics.features import judge_images
from cgan.metrics.judge import DomainClassifier, load_judge
from cgan.training import train


def test_classifier_features_have_the_documented_size():
    model = DomainClassifier(10, (1, 28, 28))
    assert model.features(torch.zeros(3, 1, 28, 28)).shape == (3, 128) and model.num_features == 128
    rgb = DomainClassifier(3, (3, 64, 64), num_features=32)
    assert rgb(torch.zeros(2, 3, 64, 64)).shape == (2, 3) and rgb.features(torch.zeros(2, 3, 64, 64)).shape == (2, 32)


def test_classifier_learns_the_bundled_digits(sample_judge):
    _, acc, _ = sample_judge
    assert acc > 0.85  # chance is 0.1


def test_real_images_score_like_the_classifier_and_shuffled_labels_like_chance(sample_judge, mnist_sample):
    judge, acc, _ = sample_judge
    real = mnist_sample.test_set
    names = mnist_sample.class_names
    right = score(judge, names, real.images, real.labels, real, n_per_class=50)
    assert abs(right["conditional_accuracy"] - acc) < 0.02
    shuffled = real.labels[torch.randperm(len(real.labels), generator=torch.Generator().manual_seed(0))]
    wrong = score(judge, names, real.images, shuffled, real, n_per_class=50)
    assert wrong["conditional_accuracy"] < 0.2
    assert set(right["per_class"]) == set(names) and "fid" in right["per_class"]["3"]


def test_fid_real_vs_real_far_below_real_vs_noise(sample_judge, mnist_sample):
    judge, _, _ = sample_judge
    train_feats, _ = judge_images(judge, mnist_sample.train_set.images[:500])
    test_feats, _ = judge_images(judge, mnist_sample.test_set.images[:500])
    noise = torch.randint(0, 256, (500, 1, 28, 28), dtype=torch.uint8)
    noise_feats, _ = judge_images(judge, noise)
    assert frechet_distance(train_feats, test_feats) * 10 < frechet_distance(test_feats, noise_feats)


def test_judge_must_fit_the_data(sample_judge, tmp_path):
    _, _, data_dir = sample_judge
    with pytest.raises(Exception, match="trained on \\[1, 28, 28\\] images"):
        load_judge(data_dir / "judges" / "mnist.pt", image_shape=(3, 64, 64))
    with pytest.raises(Exception, match="cgan-judge"):
        load_judge(tmp_path / "none.pt")


def test_training_logs_metrics_and_keeps_best_checkpoint(sample_judge, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, _, data_dir = sample_judge
    cfg = compose_train(tmp_path / "run", [*TINY, f"paths.judge_dir={data_dir}/judges",
                                           "callbacks.generation_metrics.n_per_class=20"])
    train(cfg)
    events = EventAccumulator(str(tmp_path / "run"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"metrics/fid", "metrics/conditional_accuracy", "metrics/kid_x1000", "metrics/fid_floor"} <= tags
    assert (tmp_path / "run" / "checkpoints" / "best.ckpt").is_file()


def test_a_run_ending_between_scorings_scores_its_last_weights(sample_judge, tmp_path, caplog):
    """A budget that ends before the next scoring (a 28-minute run of 27 epochs scored every 10th) still
    scores its final weights, once, and best.ckpt can be them."""
    _, _, data_dir = sample_judge
    cfg = compose_train(tmp_path / "run", [*TINY, f"paths.judge_dir={data_dir}/judges",
                                           "callbacks.generation_metrics.n_per_class=20",
                                           "callbacks.generation_metrics.every_n_val=5"])  # 2 validations in TINY
    with caplog.at_level("INFO", logger="cgan.metrics.callback"):
        train(cfg)
    scored = [r.getMessage() for r in caplog.records if r.getMessage().startswith("After ")]
    assert len(scored) == 1 and scored[0].startswith("After 320 images"), scored
    assert (tmp_path / "run" / "checkpoints" / "best.ckpt").is_file()


@pytest.mark.slow
def test_training_without_classifier_says_so_once_and_runs(tmp_path, caplog):
    cfg = compose_train(tmp_path / "run", [*TINY, f"paths.judge_dir={tmp_path}/nojudges"])
    with caplog.at_level("WARNING"):
        run = train(cfg)
    assert run.trainer.global_step == 40
    said = [r for r in caplog.records if "Generation metrics are off" in r.getMessage()]
    assert len(said) == 1 and "cgan-judge" in said[0].getMessage()


FIELDS = {"conditional_accuracy", "fid", "kid_x1000", "kid_x1000_std", "fid_floor", "intra_class_fid_mean", "per_class",
          "classifier_test_accuracy", "n_generated", "source", "precision", "recall", "precision_floor",
          "recall_floor", "reference"}


def test_evaluate_a_checkpoint_and_a_folder_write_json(sample_judge, trained_run, tmp_path):
    from cgan.generation import sample

    _, _, data_dir = sample_judge
    run_dir, _, _ = trained_run
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    common = ["data.source=sample", f"paths.judge_dir={data_dir}/judges", "n_per_class=20"]
    code, stderr = run_cli(evaluate_main, f"ckpt_path={ckpt}", *common)
    assert code == 0, stderr
    result = json.loads((run_dir / "checkpoints" / "last_metrics.json").read_text())
    assert FIELDS <= set(result) and result["n_generated"] == 200

    folder = tmp_path / "gen"
    sample(str(ckpt), n_per_label=5, out_dir=str(folder))
    code, stderr = run_cli(evaluate_main, f"gen_dir={folder}", *common, "cas=true")
    assert code == 0, stderr
    result = json.loads((folder / "metrics.json").read_text())
    assert FIELDS <= set(result) and result["n_generated"] == 50
    assert 0 <= result["classification_accuracy_score"] <= 1


def test_judge_refuses_an_unwritable_output_before_training(tmp_path, monkeypatch):
    from conftest import run_cli

    from cgan.cli.judge import main as judge_main
    from cgan.metrics import judge_check

    monkeypatch.setattr(judge_check, "build_datamodule", lambda cfg: pytest.fail("data loaded before the check"))
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, err = run_cli(judge_main, "data.source=sample", f"out_path={blocker / 'mnist.pt'}")
    assert code == 2
    assert f"cannot write the classifier to {blocker / 'mnist.pt'}" in err and "out_path=" in err


def test_precision_and_recall_tell_off_manifold_from_collapsed():
    from cgan.metrics import precision_recall

    gen = torch.Generator().manual_seed(0)
    real = torch.randn(600, 8, generator=gen)
    same_kind = torch.randn(600, 8, generator=gen)
    precision, recall = precision_recall(real, same_kind)
    assert precision > 0.8 and recall > 0.8
    far_away = same_kind + 10.0  # nothing like the data
    assert precision_recall(real, far_away) == (0.0, 0.0)
    collapsed = real[:1].repeat(600, 1) + 0.01 * torch.randn(600, 8, generator=gen)  # one image, many times
    precision, recall = precision_recall(real, collapsed)
    assert precision > 0.9 and recall < 0.1


def test_gestures_are_scored_against_halves_of_the_training_photos():
    from types import SimpleNamespace

    from cgan.data.base import InMemoryImages
    from cgan.data.rps import RockPaperScissorsDataModule
    from cgan.metrics.score import reference_sets

    images = torch.arange(40, dtype=torch.uint8).view(40, 1, 1, 1).expand(40, 3, 4, 4).contiguous()
    train_set = InMemoryImages(images, torch.arange(40) % 2)
    test_set = InMemoryImages(images[:4] + 100, torch.tensor([0, 1, 0, 1]))
    assert RockPaperScissorsDataModule.metrics_reference == "train"
    gestures = SimpleNamespace(train_set=train_set, test_set=test_set, metrics_reference="train")
    gestures.for_metrics = lambda: gestures  # already read with the metrics' filter
    reference, other = reference_sets(gestures, 2)
    ids = lambda data: set(data.images[:, 0, 0, 0].tolist())
    assert ids(reference) | ids(other) == set(range(40)) and not ids(reference) & ids(other)
    assert torch.bincount(reference.labels).tolist() == [10, 10]
    digits = SimpleNamespace(train_set=train_set, test_set=test_set)  # default: the test split
    digits.for_metrics = lambda: digits
    reference, other = reference_sets(digits, 2)
    assert reference is test_set and other is train_set


def test_judge_augmentation_disturbs_within_range_and_repeats_with_the_seed():
    from cgan.metrics.judge import augment_batch

    images = torch.rand(16, 3, 32, 32) * 2 - 1
    out = augment_batch(images, ["flip", "shift", "blur", "noise"], torch.Generator().manual_seed(3))
    again = augment_batch(images, ["flip", "shift", "blur", "noise"], torch.Generator().manual_seed(3))
    assert out.shape == images.shape and out.min() >= -1 and out.max() <= 1
    assert torch.equal(out, again) and not torch.allclose(out, images)
    flipped = augment_batch(images, ["flip"], torch.Generator().manual_seed(0))
    per_image = [torch.equal(f, i) or torch.equal(f, i.flip(2)) for f, i in zip(flipped, images)]
    assert all(per_image)


def test_the_judge_check_flags_a_judge_with_distances_out_of_order():
    from cgan.metrics.judge_check import ordering_problems

    def table(**fids):
        rows = {name: {"fid": fid, "recall": 0.9} for name, fid in fids.items()}
        rows["one image per class"]["recall"] = 0.0
        return rows

    good = table(real=4, **{"noise 0.1": 8, "noise 0.3": 150, "blur 3x3": 30, "blur 5x5": 90,
                            "one image per class": 600})
    assert ordering_problems(good) == []
    # The instrument the gesture issue warned about: a slight blur sixty times further than noise.
    blur_hater = table(real=4, **{"noise 0.1": 4.5, "noise 0.3": 20, "blur 3x3": 269, "blur 5x5": 400,
                                  "one image per class": 600})
    problems = ordering_problems(blur_hater)
    assert any("noise 0.1 (FID 4.5) is not clearly worse" in p for p in problems)
    assert any("apart" in p for p in problems)


def test_kid_x1000_does_not_depend_on_the_scale_of_the_features():
    from cgan.metrics import kernel_distance

    gen = torch.Generator().manual_seed(0)
    features = torch.rand(800, 16, generator=gen) * 5
    reference, same, shifted = features[:400], features[400:], features[400:] + 1.0
    kid_same, _ = kernel_distance(reference, same)
    kid_shifted, _ = kernel_distance(reference, shifted)
    assert kid_shifted > 10 * abs(kid_same)
    kid_scaled, _ = kernel_distance(100 * reference, 100 * shifted)  # raw KID would grow a million times
    assert kid_scaled == pytest.approx(kid_shifted, rel=1e-6)
