"""The losses' running means over an epoch, kept on the device (no host sync per batch), and the names they are
logged under."""

from __future__ import annotations

import torch

D_METRICS = ("train/d_loss", "train/d_real_prob", "train/d_fake_prob")


class LossLog:
    def __init__(self):
        self.reset()  # also for a run resumed mid-epoch, which starts without on_train_epoch_start

    def reset(self) -> None:
        self._d_sum, self._g_sum, self._d_count, self._g_count = 0, 0, 0, 0

    def add(self, d_metrics: torch.Tensor, g_loss: torch.Tensor | None) -> None:
        """``d_metrics``: D's loss and its mean probabilities on real and fake; ``g_loss`` None when G did not step."""
        self._d_sum, self._d_count = self._d_sum + d_metrics, self._d_count + 1
        if g_loss is not None:
            self._g_sum, self._g_count = self._g_sum + g_loss, self._g_count + 1

    @staticmethod
    def step_values(d_metrics: torch.Tensor, g_loss: torch.Tensor | None) -> dict[str, torch.Tensor]:
        values = dict(zip((f"{k}_step" for k in D_METRICS), d_metrics))
        if g_loss is not None:
            values["train/g_loss_step"] = g_loss
        return values

    def epoch_means(self) -> dict[str, torch.Tensor]:
        means = {}
        if self._d_count:
            means.update(zip((f"{k}_epoch" for k in D_METRICS), self._d_sum / self._d_count))
        if self._g_count:
            means["train/g_loss_epoch"] = self._g_sum / self._g_count
        return means
