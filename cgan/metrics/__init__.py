"""What the generator learned, in numbers.

    fid.py kid.py prc.py   pure functions of two feature sets (no files, no Lightning)
    judge.py               the dataset's own classifier whose features those sets are; judge_check.py trains it
                           and checks it on disturbed real images (``cgan-judge``)
    features.py            images -> (judge features, predicted classes)
    score.py               the one scoring path, called by both of:
    callback.py            GenerationMetrics, scoring during training (Lightning code only)
    evaluate.py            ``cgan-evaluate`` on a checkpoint or a folder of images
"""

from cgan.metrics.callback import GenerationMetrics
from cgan.metrics.fid import frechet_distance
from cgan.metrics.kid import kernel_distance
from cgan.metrics.prc import precision_recall
from cgan.metrics.score import score

__all__ = ["GenerationMetrics", "frechet_distance", "kernel_distance", "precision_recall", "score"]
