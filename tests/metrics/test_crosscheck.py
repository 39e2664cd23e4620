"""The cross-check classifier (cgan-crosscheck): trained, calibrated and scoring a checkpoint, end to end."""

def test_crosscheck_trains_its_classifier_and_scores_a_checkpoint(gesture_checkpoint, tmp_path, monkeypatch, capsys):
    from conftest import make_folder

    from cgan.metrics import crosscheck

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
