"""Conditional GANs on PyTorch Lightning + Hydra.

The flow: config -> DataModule (knows num_classes, image_shape, class_names) -> nets built for that
shape -> ConditionalGAN -> Trainer.fit -> callbacks log losses and one grid row per class ->
checkpoint -> sampling, the app, export.

The layers, each importing only those above it in this list (tests/test_layers.py checks it):

    errors, config, images     leaves
    data, nets, checkpoints    datasets, plain nn.Modules, checkpoint files
    model                      the LightningModule, losses, augmentation
    generation                 a trained generator: load, sample, interpolate, export
    metrics                    FID/KID/precision-recall, the judge, one scoring path
    training, app              fit a run; the page to play with a generator
    cli                        one module per command
    tools                      benchmarks and quality sweeps
"""

from cgan.errors import UserError

__all__ = ["UserError"]
