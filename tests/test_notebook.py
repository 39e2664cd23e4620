"""docs/python.md, run as a notebook in a real Jupyter kernel: its code cells, in order, on small budgets."""

import re
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, make_folder

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.slow  # a kernel start, a classifier and a training run

PAGE = ROOT / "docs" / "python.md"

# Appended to each command's overrides by the notebook's first (test-only) cell, by the data a call names:
# the digits from the bundled sample, the gestures from a made photo folder laid out as the gesture data;
# 8-wide nets (32 pixels for photos), a few batches.
SMALL_NETS = ["model.generator.base_width=8", "model.discriminator.base_width=8", "trainer.max_time=null",
              "trainer.max_steps=12", "trainer.limit_val_batches=1", "trainer.val_check_interval=3",
              "callbacks.generation_metrics.n_per_class=6", "trainer.enable_model_summary=false",
              "console.progress=log"]
SMALL = {
    "digits": {"judge": ["epochs=1", "check_disturbances=false", "batch_size=16", "data.source=sample"],
               "train": ["data.source=sample", "data.batch_size=8", *SMALL_NETS],
               "evaluate": ["data.source=sample", "n_per_class=6"]},
    "gestures": {"judge": ["epochs=1", "check_disturbances=false", "data.download=false", "data.image_size=32",
                           "data.batch_size=8"],
                 "train": ["data.download=false", "data.image_size=32", "data.batch_size=4", *SMALL_NETS],
                 "evaluate": ["data.download=false", "data.image_size=32", "n_per_class=6"]},
}


def code_cells(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


def setup_cell(data_dir: Path) -> str:
    everywhere = [f"paths.data_dir={data_dir}"]
    return textwrap.dedent(f"""
        import cgan.api
        _compose = cgan.api.compose
        SMALL = {SMALL!r}
        def compose(name, overrides, run_dir=None):
            data = "gestures" if any("rps" in str(o) for o in overrides) else "digits"
            return _compose(name, [*overrides, *{everywhere!r}, *SMALL[data][name]], run_dir)
        cgan.api.compose = compose
    """)


def test_the_python_page_runs_as_a_notebook_and_shows_pictures_and_tables(tmp_path):
    data_dir = tmp_path / "data"
    make_folder(data_dir / "rps", per_class=8)
    make_folder(data_dir / "rps-test-set", per_class=4)
    cells = code_cells(PAGE)
    assert len(cells) >= 6 and "cgan.train(" in "".join(cells) and "cgan.evaluate(" in "".join(cells)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup_cell(data_dir)),
                                               *(nbformat.v4.new_code_cell(c) for c in cells)])
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, when one fails

    outputs = {i: [o for o in cell.outputs if o.output_type == "execute_result"] for i, cell in
               enumerate(notebook.cells) if cell.cell_type == "code"}
    shown = lambda source, kind: [o for i, c in enumerate(notebook.cells) if source in c.source
                                  for o in outputs[i] if kind in o.get("data", {})]
    assert shown("sevens = g.sample", "image/png")  # the grid of sevens, as a picture
    assert shown("g.every_class", "image/png") and shown("g.walk", "image/png")
    table = shown("scores = cgan.evaluate", "text/html")
    assert table and "<td>fid</td>" in table[0]["data"]["text/html"] and "<td>7</td>" in table[0]["data"]["text/html"]
    assert shown("run = cgan.train", "text/html")  # the run's folder and final metrics
    assert shown("rocks = cgan.load", "image/png")  # and the gestures after the digits
    assert (tmp_path / "outputs" / "samples" / "notebook" / "grid.png").is_file()
