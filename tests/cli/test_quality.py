"""cgan-quality: quality against images seen, scored along a fixed image budget."""

from cgan.cli import quality

TINY_RUN = ["data.source=sample", "data.batch_size=16", "print_config=false"]


def test_quality_scores_along_the_budget(sample_judge, tmp_path, monkeypatch, capsys):
    _, _, data_dir = sample_judge
    monkeypatch.chdir(tmp_path)  # it writes its run under ./outputs/quality/
    quality.main(["--images", "320", "--every", "160", "--n-per-class", "10", *TINY_RUN,
                  f"paths.judge_dir={data_dir}/judges"])
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()[:1].isdigit()]
    assert [int(row[0].replace(",", "")) for row in rows] == [160, 320]  # images seen at each measure
    assert all(0 <= float(row[2]) <= 1 for row in rows)  # conditional accuracy
    assert list((tmp_path / "outputs" / "quality").iterdir())
