"""python -m cgan.data.wide_photos: a folder of wide photos to try data.fit on."""

import numpy as np


def test_wide_photos_squash_the_subject_across_a_green_frame(tmp_path):
    from PIL import Image

    from cgan.data import wide_photos

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
