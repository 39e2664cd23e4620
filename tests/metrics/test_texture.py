"""Metrics that see texture: the radial power spectrum and the strict judge (the forgiving classifier's features
widened by its first layer's texture statistics)."""

import json

import pytest
import torch
from conftest import TINY_DCGAN, compose_train, make_folder, run_cli
from torchvision.transforms.functional import gaussian_blur

from cgan.data.base import InMemoryImages
from cgan.metrics.judge import (
    StrictJudge,
    fit_classifier,
    load_judge,
    load_strict_judge,
    save_judge,
    save_strict_judge,
    strict_judge_path,
)
from cgan.metrics.judge_check import (
    LADDER_TARGETS,
    TEXTURE_LADDER,
    _checkerboard,
    disturbance_table,
    ladder_misses,
    ladder_problems,
)
from cgan.metrics.score import score
from cgan.metrics.spectrum import band_edges, radial_power_spectrum, spectral_distance, top_band_ratio


def crisp_shapes(n_per_class: int, size: int = 32, seed: int = 0) -> InMemoryImages:
    """Photo-like made data: discs, bars and crosses of random colour and place on a pale ground, edges
    antialiased (a slight blur), so blur, a mesh and noise are each something the photos do not have."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    images, labels = [], []
    for k in range(3):
        for _ in range(n_per_class):
            cy, cx = (torch.rand(2, generator=gen) * size * 0.4 + size * 0.3).tolist()
            r = float(torch.rand(1, generator=gen) * size * 0.15 + size * 0.15)
            dy, dx = (yy - cy).abs(), (xx - cx).abs()
            mask = [dy**2 + dx**2 < r * r, (dy < r / 3) & (dx < r * 1.2),
                    ((dy < r / 4) | (dx < r / 4)) & (dy < r) & (dx < r)][k].float()
            colour = torch.rand(3, 1, 1, generator=gen) * 0.6 + 0.2
            image = 0.9 * (1 - mask) + colour * mask
            images.append(gaussian_blur(image[None], 3, 0.4)[0])
            labels.append(k)
    return InMemoryImages((torch.stack(images) * 255).round().to(torch.uint8), torch.tensor(labels))


@pytest.fixture(scope="module")
def shapes():
    return crisp_shapes(200), crisp_shapes(100, seed=1)


def test_a_checkerboard_raises_the_spectrum_score_and_blur_lowers_the_top_bands(shapes):
    reference, others = shapes
    real = radial_power_spectrum(reference.images)
    as_they_are = radial_power_spectrum(others.images)
    unit = others.images.float() / 127.5 - 1
    checkered = radial_power_spectrum(_checkerboard(unit, 0.03))
    blurred = radial_power_spectrum(gaussian_blur(unit, 5, 0.7))
    assert spectral_distance(as_they_are, real) < 0.1  # other images of the same kind: close
    assert spectral_distance(checkered, real) > 2 * spectral_distance(as_they_are, real)
    assert top_band_ratio(checkered, real, 32) > 1.5  # the mesh's power sits at the top
    assert top_band_ratio(blurred, real, 32) < 0.7 and top_band_ratio(blurred, real, 32) < top_band_ratio(as_they_are, real, 32)
    low = slice(1, 3)  # shapes and colours: blur leaves the lowest frequencies (nearly) alone
    assert torch.allclose(blurred[low], as_they_are[low], rtol=0.1)


def test_the_spectrum_bands_cover_every_frequency_once():
    for size in (28, 32, 64, 128):
        bands = band_edges(size)
        covered = [r for _, lo, hi in bands for r in range(lo, hi + 1)]
        assert covered == list(range(1, covered[-1] + 1))  # no gap, no overlap, from 1 cycle up
        assert bands[-1][0] == f">{size // 2}"  # the corners past Nyquist: where a period-2 checkerboard lives
    assert radial_power_spectrum(torch.zeros(2, 3, 16, 16, dtype=torch.uint8)).abs().max() == 0


@pytest.fixture(scope="module")
def judges(shapes):
    """(the forgiving judge trained with blur and noise, the strict judge made from it) on the made shapes."""
    reference, _ = shapes
    forgiving = fit_classifier(reference, 3, (3, 32, 32), epochs=10, width=8, num_features=32, batch_size=32,
                               augment=["flip", "shift", "blur", "noise"])
    return forgiving, StrictJudge(forgiving).calibrate(reference.images.float() / 127.5 - 1)


def test_the_strict_judge_ladder_is_ordered_and_stricter_than_the_forgiving_judge(shapes, judges):
    """Less blur, less mesh, less noise: closer to the photos, and no lower precision; and every strong rung
    further below the undisturbed images than the forgiving judge puts it."""
    reference, others = shapes
    forgiving, strict = judges
    table = disturbance_table(strict, reference, others, 3, n_per_class=100, disturbances=TEXTURE_LADDER)
    lenient = disturbance_table(forgiving, reference, others, 3, n_per_class=100, disturbances=TEXTURE_LADDER)
    assert ladder_problems(table) == []
    assert table["as they are"]["precision"] >= 0.9
    for strongest in ("blur sigma 0.7", "checkerboard 3%", "mesh 8%", "noise 0.10"):
        assert table[strongest]["precision"] < lenient[strongest]["precision"], strongest
    # The made shapes are flat colour with few edges: blur moves them little, the others a lot.
    assert table["blur sigma 0.7"]["precision"] < table["as they are"]["precision"]
    for strongest in ("checkerboard 3%", "mesh 8%", "noise 0.10"):
        assert table[strongest]["precision"] < table["as they are"]["precision"] - 0.2, strongest
    # Its predictions are the classifier's.
    images = others.images.float() / 127.5 - 1
    assert torch.equal(strict.head(strict.features(images)).argmax(1), forgiving(images).argmax(1))
    # The check can fail: a ladder read upside down is out of order.
    flipped = {**table, "noise 0.02": table["noise 0.10"], "noise 0.10": table["noise 0.02"]}
    assert any("noise 0.02" in problem for problem in ladder_problems(flipped))


def test_ladder_misses_name_each_rung_out_of_bounds():
    met = {rung: {"precision": target - 0.01 if bound == "at most" else target} for rung, bound, target in LADDER_TARGETS}
    assert ladder_misses(met, test_accuracy=0.97) == []
    lenient = {**met, "blur sigma 0.5": {"precision": 0.68}, "as they are": {"precision": 0.9}}
    misses = ladder_misses(lenient, test_accuracy=0.9)
    assert len(misses) == 3
    assert "blur sigma 0.5: precision 0.68, should be at most 0.35" in misses
    assert any(m.startswith("as they are") for m in misses) and any(m.startswith("test accuracy") for m in misses)


def test_score_reports_the_strict_judge_and_the_spectrum(shapes, judges):
    reference, others = shapes
    forgiving, strict = judges
    result = score(forgiving, ["a", "b", "c"], others.images, others.labels, reference, others, 50, strict_judge=strict)
    for key in ("strict_fid", "strict_precision", "strict_recall", "strict_conditional_accuracy", "strict_fid_floor",
                "spectral_distance", "spectrum_top_ratio", "spectral_distance_floor"):
        assert key in result and result[key] == result[key], key  # present and not NaN
    assert set(result["spectrum_bands"]) == {name for name, _, _ in band_edges(32)}
    assert "strict_fid" not in score(forgiving, ["a", "b", "c"], others.images, others.labels, reference, n_per_class=50)


def test_cgan_judge_writes_the_strict_judge_beside_the_forgiving_one(tmp_path):
    from cgan.cli.judge import main as judge_main

    root = make_folder(tmp_path / "photos", per_class=8)
    out = tmp_path / "judges" / "mine.pt"
    code, err = run_cli(judge_main, "data=image_folder", f"data.root={root}", "data.image_size=32", "epochs=1",
                        "batch_size=8", "check_disturbances=false", f"paths.cache_dir={tmp_path}/cache", f"out_path={out}")
    assert code == 0, err
    assert out.is_file() and strict_judge_path(out).is_file()
    forgiving, _ = load_judge(out)
    strict = load_strict_judge(out)
    assert isinstance(strict, StrictJudge) and strict.num_features > forgiving.num_features
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    assert torch.equal(strict.classifier.features(images), forgiving.features(images))  # one classifier, two readings
    assert strict.texture_std.min() > 0 and strict.texture_mean.abs().sum() > 0  # calibrated on the photos


def test_a_strict_judge_from_an_older_cgan_judge_is_passed_over_with_a_warning(tmp_path, shapes, caplog):
    reference, _ = shapes
    model = fit_classifier(reference, 3, (3, 32, 32), epochs=1, width=8, num_features=16, batch_size=32)
    save_judge(model, tmp_path / "old.pt", ["a", "b", "c"], 0.5, ["blur", "noise"])
    save_judge(model, strict_judge_path(tmp_path / "old.pt"), ["a", "b", "c"], 0.5, [])  # the old strict kind
    assert load_strict_judge(tmp_path / "old.pt") is None
    assert "older cgan-judge" in caplog.text and "cgan-judge makes it again" in caplog.text


def test_training_and_evaluate_report_strict_and_spectrum_scores(tmp_path):
    """TensorBoard gets metrics/strict_* and metrics/spectral_distance and the spectrum picture; cgan-evaluate's
    JSON and table hold them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from cgan.cli.evaluate import main as evaluate_main
    from cgan.training import train

    root = make_folder(tmp_path / "photos", per_class=8)
    images = crisp_shapes(20)
    judges = tmp_path / "judges"
    model = fit_classifier(images, 3, (3, 32, 32), epochs=1, width=8, num_features=16, batch_size=16, augment=["blur", "noise"])
    save_judge(model, judges / "image_folder32.pt", ["paper", "rock", "scissors"], 0.5, ["blur", "noise"])
    save_strict_judge(StrictJudge(model).calibrate(images.images.float() / 127.5 - 1),
                      strict_judge_path(judges / "image_folder32.pt"), ["paper", "rock", "scissors"], 0.5, ["blur", "noise"])
    run_dir = tmp_path / "run"
    common = [f"data.root={root}", f"paths.cache_dir={tmp_path}/cache", f"paths.judge_dir={judges}"]
    train(compose_train(run_dir, [*TINY_DCGAN, *common, "callbacks.generation_metrics.n_per_class=4",
                                  "callbacks.generation_metrics.classifier_path=" + str(judges / "image_folder32.pt")]))
    # best.ckpt follows the strict judge's FID.
    states = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["callbacks"]
    assert [v["best_by"] for k, v in states.items() if k.startswith("GenerationMetrics")] == ["strict_fid"]
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0})
    events.Reload()
    assert {"metrics/strict_fid", "metrics/strict_precision", "metrics/spectral_distance",
            "metrics/spectrum_top_ratio"} <= set(events.Tags()["scalars"])
    assert "metrics/spectrum" in events.Tags()["images"]

    code, err = run_cli(evaluate_main, f"ckpt_path={run_dir}", "data=image_folder", "data.image_size=32", *common,
                        "n_per_class=4", f"classifier_path={judges / 'image_folder32.pt'}")
    assert code == 0, err
    result = json.loads(next((run_dir / "checkpoints").glob("*_metrics.json")).read_text())
    assert {"strict_fid", "strict_precision", "spectral_distance", "spectrum_top_ratio", "spectrum_bands"} <= set(result)


def test_gesture_training_scores_at_the_sample_size_cgan_evaluate_uses():
    """Precision depends on how many images are compared: the gesture preset's in-training scores and
    cgan-evaluate's must use one n_per_class, or the same weights read 0.5 in one and 0.25 in the other."""
    from cgan.config import compose

    for preset in ("rps_best", "rps_resnet"):
        trained = compose("train", [f"experiment={preset}"]).callbacks.generation_metrics.n_per_class
        assert trained == compose("evaluate", ["data=rps"]).n_per_class == 300
    assert compose("evaluate", []).n_per_class == 1000  # the digits: 1,000 test images per class
