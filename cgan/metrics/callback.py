"""The Lightning callback that scores the generator while it trains, through :func:`cgan.metrics.score`."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only

from cgan.checkpoints import batches_trained
from cgan.data.base import InMemoryImages
from cgan.errors import UserError
from cgan.images import log_image
from cgan.metrics.judge import load_judge, load_strict_judge
from cgan.metrics.score import generate_per_class, reference_sets, score
from cgan.metrics.spectrum import spectrum_figure

# What goes to the loggers as metrics/<key> (TensorBoard's scalars), when the result has it; one key is
# renamed (intra_class_fid_mean -> metrics/intra_class_fid).
LOGGED = ("conditional_accuracy", "fid", "kid_x1000", "intra_class_fid_mean", "precision", "recall", "fid_floor",
          "strict_conditional_accuracy", "strict_fid", "strict_precision", "strict_recall", "strict_fid_floor",
          "spectral_distance", "spectrum_top_ratio", "spectral_distance_floor")

log = logging.getLogger(__name__)


class GenerationMetrics(L.Callback):
    """Scores the generator during training (after validation, every ``every_n_val`` validations, and
    every ``every_n_batches`` batches if set, and once more at the end of training unless the last weights
    were just scored): ``metrics/conditional_accuracy``, ``metrics/fid``,
    ``metrics/kid_x1000``, ``metrics/intra_class_fid``, ``metrics/precision``, ``metrics/recall`` and the
    floors (once) go to TensorBoard; with a strict judge beside the classifier, its ``metrics/strict_*``;
    for square images ``metrics/spectral_distance``, ``metrics/spectrum_top_ratio`` and the picture
    ``metrics/spectrum``. ``best.ckpt`` is kept at the lowest strict FID where a strict judge exists (the
    forgiving judge's FID forgives the grain and blur that a stricter eye sees), else at the lowest FID.
    Without a classifier file it says so once and stays off."""

    def __init__(self, classifier_path: str, n_per_class: int = 100, every_n_val: int = 1,
                 every_n_batches: int = 0, save_best: bool = True, dirpath: str | None = None,
                 on_result: Callable[[int, dict], None] | None = None):
        self.classifier_path = classifier_path
        self.n_per_class = n_per_class
        self.every_n_val = every_n_val
        self.every_n_batches = every_n_batches
        self.save_best = save_best
        self.dirpath = Path(dirpath) if dirpath else None
        self.on_result = on_result  # the quality benchmark collects results through this
        self.judge = None
        self.strict_judge = None
        self.enabled = True
        self.best_fid = math.inf  # of the key best_by names
        self._validations = 0
        self._last_scored = -1  # batches trained when last scored
        self._floor_logged = False
        self._references: tuple[InMemoryImages, InMemoryImages] | None = None

    def setup(self, trainer, pl_module, stage: str) -> None:
        names, shape = list(pl_module.data.class_names), pl_module.data.image_shape
        try:
            self.judge, self.judge_accuracy = load_judge(self.classifier_path, names, shape)
            self.strict_judge = load_strict_judge(self.classifier_path, names, shape)
        except UserError as err:
            self.enabled = False
            if trainer.is_global_zero:
                log.warning("Generation metrics are off: %s", err)

    @rank_zero_only
    def _compute(self, trainer, pl_module) -> dict:
        datamodule = trainer.datamodule
        data = pl_module.data
        self.judge.to(pl_module.device)
        if self.strict_judge is not None:
            self.strict_judge.to(pl_module.device)
        generator = pl_module.sampling_generator
        was_training = generator.training
        generator.eval()
        try:
            images, labels = generate_per_class(generator, pl_module.latent_dim, data.num_classes, self.n_per_class,
                                                pl_module.device)
        finally:
            generator.train(was_training)
        if self._references is None:
            self._references = reference_sets(datamodule, data.num_classes)
        real_ref, real_other = self._references
        spectra: dict = {}
        result = score(self.judge, list(data.class_names), images, labels, real_ref,
                       real_other if not self._floor_logged else None, self.n_per_class,
                       strict_judge=self.strict_judge, spectra=spectra)
        if spectra:
            step = batches_trained(trainer)
            log_image(trainer.loggers, "metrics/spectrum",
                      spectrum_figure(spectra["fake"], spectra["real"], f"radial power spectrum, batch {step}"), step)
        return result

    def _run(self, trainer, pl_module, batches_done: int) -> None:
        if not self.enabled or trainer.sanity_checking:
            return
        self._last_scored = batches_done
        result = self._compute(trainer, pl_module)
        fid = trainer.strategy.broadcast(result[self.best_by] if result else math.nan, src=0)
        if result is not None:
            values = {f"metrics/{key.removesuffix('_mean')}": result[key] for key in LOGGED if key in result}
            self._floor_logged = self._floor_logged or "fid_floor" in result
            for logger in trainer.loggers:
                logger.log_metrics(values, step=batches_trained(trainer))
            # Also where the final metrics are read from (HParams tab, the value returned to sweepers).
            trainer.callback_metrics.update({k: torch.tensor(v) for k, v in values.items()})
            images_seen = batches_done * trainer.datamodule.batch_size * trainer.world_size  # every rank's
            strict = (f"; strict judge: FID {result['strict_fid']:.2f}, precision {result['strict_precision']:.2f}, "
                      f"recall {result['strict_recall']:.2f}" if "strict_fid" in result else "")
            spectrum = (f"; spectrum: distance {result['spectral_distance']:.3f}, top band x{result['spectrum_top_ratio']:.2f}"
                        if "spectral_distance" in result else "")
            log.info("After %d images: conditional accuracy %.3f, FID %.2f, KIDx1000 %.2f, precision %.2f, recall %.2f%s%s",
                     images_seen, result["conditional_accuracy"], result["fid"], result["kid_x1000"],
                     result["precision"], result["recall"], strict, spectrum)
            if self.on_result is not None:
                self.on_result(images_seen, result)
        if self.save_best and self.dirpath is not None and fid < self.best_fid:
            self.best_fid = fid
            trainer.save_checkpoint(self.dirpath / "best.ckpt")  # every rank: it is a collective

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        self._validations += 1
        if self._validations % self.every_n_val == 0:
            self._run(trainer, pl_module, batches_trained(trainer))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = batches_trained(trainer) + 1  # Lightning counts this batch after the hook
        if self.every_n_batches > 0 and step % self.every_n_batches == 0:
            self._run(trainer, pl_module, step)

    def on_train_end(self, trainer, pl_module) -> None:
        # A run stopped by its time or step budget between two scorings (a 28-minute run of 27 epochs scored
        # every 10th) would otherwise leave its last weights out of best.ckpt and its final metrics.
        if batches_trained(trainer) > max(self._last_scored, 0):
            self._run(trainer, pl_module, batches_trained(trainer))

    @property
    def best_by(self) -> str:
        """The score best.ckpt is kept at the lowest of: the strict judge's FID where there is one."""
        return "strict_fid" if self.strict_judge is not None else "fid"

    def state_dict(self) -> dict:
        return {"best_fid": self.best_fid, "best_by": self.best_by}

    def load_state_dict(self, state_dict: dict) -> None:
        # A run saved before best.ckpt followed the strict judge kept its best at the forgiving FID: start over.
        same_score = state_dict.get("best_by", "fid") == self.best_by
        self.best_fid = state_dict.get("best_fid", math.inf) if same_score else math.inf
