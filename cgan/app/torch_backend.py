"""A training checkpoint behind the page: loaded once, in eval mode, run under ``torch.inference_mode()``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cgan.app.backend import Backend
from cgan.generation import load_generator


def open_checkpoint(path: Path, device: str = "cpu") -> Backend:
    trained = load_generator(path, device=device)  # the EMA generator when the checkpoint has one
    net, device = trained.net.eval(), torch.device(device)

    def draw(noise: np.ndarray, labels: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            images = net(torch.from_numpy(noise).to(device), torch.from_numpy(labels).to(device))
        return images.float().cpu().numpy()

    return Backend(draw, trained.class_names, trained.latent_dim, tuple(trained.image_shape), str(path),
                   "PyTorch checkpoint")
