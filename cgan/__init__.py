"""Conditional GANs on PyTorch Lightning + Hydra.

In Python (a notebook, a script), the same runs as the commands (docs/python.md)::

    import cgan
    run = cgan.train("experiment=mnist_5min")      # train.py's overrides; returns the run
    g = cgan.load(run.dir)                         # a run dir, a .ckpt, an exported .pt2/.onnx/.pt
    g.sample("7", n=16)                            # a grid that shows itself in Jupyter
    cgan.evaluate(g, "data=mnist")                 # cgan-evaluate's table

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
    api                        the Python face: train, load, evaluate (re-exported here, lazily)
    cli                        one module per command
    tools                      benchmarks and quality sweeps
"""

from cgan.errors import UserError

# The api's names, imported on first use: `import cgan` stays light (the commands' --help loads no torch).
API = ("train", "resume", "load", "judge", "evaluate", "Run", "Generator", "Images", "Scores")

__all__ = ["UserError", *API]


def __getattr__(name: str):
    if name in API:
        from cgan import api

        return getattr(api, name)
    raise AttributeError(f"module 'cgan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])
