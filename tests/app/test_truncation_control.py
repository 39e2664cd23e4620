"""The page measures what truncation costs the loaded generator and hides the control where it fades the images
(the gesture models: docs/sampling.md), shows it where it only narrows variety (the digit models)."""

import numpy as np
import pytest

from cgan.app.backend import Backend
from cgan.app.views import Views, truncation_cost

gr = pytest.importorskip("gradio", reason="the app extra is not installed")


def made_backend(fades: bool) -> Backend:
    """Images whose contrast follows |z| (truncation fades them) or only their pattern does (it does not)."""
    def draw(noise, labels):
        size = np.abs(noise[:, :16]).mean(axis=1, keepdims=True) if fades else 0.8
        pattern = np.sign(noise[:, :16]) * size
        return np.tile(pattern, (1, 4)).reshape(len(noise), 1, 8, 8).astype(np.float32)
    return Backend(draw, ["a", "b"], 32, (1, 8, 8), "made", "made")


def test_the_cost_sees_fading_and_not_a_narrower_variety():
    fading, steady = truncation_cost(made_backend(True)), truncation_cost(made_backend(False))
    assert fading.washes_out and fading.contrast < 0.8
    assert not steady.washes_out and steady.contrast == pytest.approx(1.0, abs=0.05)
    assert "keeps" in fading.sentence() and "contrast" in fading.sentence()


def truncation_row_and_note(page):
    checkbox = next(block for block in page.blocks.values() if isinstance(block, gr.Checkbox))
    row = checkbox.parent
    while not isinstance(row, gr.Row):  # Gradio wraps form fields in a Form inside the Row
        row = row.parent
    note = next(block for block in page.blocks.values() if getattr(block, "elem_id", None) == "truncation-cost")
    return row, note.value


@pytest.mark.parametrize("fades,control,shown", [(True, "auto", False), (False, "auto", True),
                                                 (True, "show", True), (False, "hide", False)])
def test_the_page_hides_truncation_where_it_fades_the_images(fades, control, shown):
    from cgan.app.page import build_page

    page = build_page(Views(made_backend(fades)), control)
    row, note = truncation_row_and_note(page)
    assert row.visible is shown
    assert ("Truncation is hidden" in note) is (not shown)
    assert ("it fades these images" in note) is (fades and not shown)
    assert "of this generator's contrast" in note
