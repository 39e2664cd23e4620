"""The Gradio page over :class:`~cgan.app.views.Views`: pick a class, a seed and a truncation, and look
at three pictures. Each picture is also an API endpoint (``/grid``, ``/every_class``, ``/interpolate``)
for ``gradio_client``."""

from __future__ import annotations

import hashlib
import io
import os
import random
import tempfile
from functools import wraps
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from cgan.app.views import MAX_SEED, MAX_STEPS, Views, truncation_cost
from cgan.errors import UserError


# Where the pictures the page serves are written (one folder per distinct picture, as Gradio's cache does).
PICTURES = Path(tempfile.gettempdir()) / "cgan-app-pictures"


def png_file(picture: np.ndarray) -> str:
    """The picture as a PNG file written whole before anyone can read it.

    Handed an array, Gradio saves it in its cache under a name made from the picture's bytes and rewrites
    that file in place on every request: two identical requests at once (the same class and seed) then
    stream a file while the other truncates and rewrites it, and a client gets "Too little data for
    declared Content-Length". A path is copied into the cache under a temporary name and renamed, and
    this file too is written under a temporary name and renamed: no reader ever sees half a picture."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    data = buffer.getvalue()
    path = PICTURES / hashlib.sha1(data).hexdigest() / "image.png"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    return str(path)


def one_sentence(fn):
    """A request out of bounds comes back as its one sentence on the page, not a traceback; the server
    goes on serving. The picture goes out as a PNG file (:func:`png_file`)."""

    @wraps(fn)
    def wrapper(*args):
        try:
            return png_file(fn(*args))
        except UserError as err:
            raise gr.Error(str(err), print_exception=False) from None

    return wrapper


def build_page(views: Views, truncation_control: str = "auto") -> gr.Blocks:
    """The page; ``truncation_control``: auto shows the truncation controls unless they fade this generator's
    images (measured now, :func:`~cgan.app.views.truncation_cost`), show or hide them regardless."""
    backend = views.backend
    names = backend.class_names
    shape = "x".join(map(str, backend.image_shape))
    cost = truncation_cost(backend)
    show_truncation = truncation_control == "show" or (truncation_control == "auto" and not cost.washes_out)
    about_truncation = f"{cost.sentence().capitalize()}."
    if not show_truncation:
        why = ", so it fades these images" if cost.washes_out else " (`truncation=hide`)"
        about_truncation = f"Truncation is hidden: {cost.sentence()}{why}. `cgan-app truncation=show` shows it."

    @one_sentence
    def class_grid(label, n, seed, truncate, truncation):
        return views.class_grid(label, n, seed, truncation if truncate else None)

    @one_sentence
    def every_class(rows, seed, truncate, truncation):
        return views.every_class(rows, seed, truncation if truncate else None)

    @one_sentence
    def interpolate(labels, seed, seed_to, steps, truncate, truncation):
        return views.interpolate(labels, seed, seed_to, steps, truncation if truncate else None)

    def picture(label: str) -> gr.Image:
        return gr.Image(label=label, type="numpy", format="png", buttons=["download"], interactive=False)

    with gr.Blocks(title="cgan: draw me a class", analytics_enabled=False) as page:
        gr.Markdown(f"## Draw me a class\n{len(names)} classes ({', '.join(names)}), {shape} images, "
                    f"from `{backend.source}` ({backend.kind}).")
        with gr.Row():
            label = gr.Dropdown(names, value=names[0], label="class")
            n = gr.Slider(1, views.max_images, value=min(16, views.max_images), step=1, label="images")
            seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="seed")
            new_seed = gr.Button("new seed", size="sm")
        with gr.Row(visible=show_truncation):
            truncate = gr.Checkbox(False, label="truncate the noise")
            truncation = gr.Slider(0.05, 3.0, value=1.0, step=0.05,
                                   label="truncation |z| <= t (smaller: less varied)")
        gr.Markdown(about_truncation, elem_id="truncation-cost")
        with gr.Tab("the class"):
            grid_button = gr.Button("generate", variant="primary", elem_id="generate")
            grid_image = picture("images of the chosen class (download: the button on the picture)")
        with gr.Tab("same noise, every class"):
            rows = gr.Slider(1, 16, value=4, step=1, label="rows (noise vectors)")
            every_button = gr.Button("draw every class", variant="primary")
            every_image = picture("a column per class: what stays along a row is the style")
        with gr.Tab("walk between two seeds"):
            with gr.Row():
                walk_labels = gr.Dropdown(names, value=list(names), multiselect=True, label="classes")
                seed_to = gr.Number(1, precision=0, minimum=0, maximum=MAX_SEED, label="to seed")
                steps = gr.Slider(2, MAX_STEPS, value=8, step=1, label="steps")
            walk_button = gr.Button("walk", variant="primary")
            walk_image = picture("from the noise of seed to that of the second seed, a row per class")

        common = [truncate, truncation]
        grid_inputs = [label, n, seed, *common]
        grid_button.click(class_grid, grid_inputs, grid_image, api_name="grid")
        every_button.click(every_class, [rows, seed, *common], every_image, api_name="every_class")
        walk_button.click(interpolate, [walk_labels, seed, seed_to, steps, *common], walk_image,
                          api_name="interpolate")
        new_seed.click(lambda: random.randint(0, MAX_SEED), None, seed, api_name=False).then(
            class_grid, grid_inputs, grid_image, api_name=False)
        page.load(class_grid, grid_inputs, grid_image, api_name=False)
    return page
