"""Load a trained generator and ask it for classes; write samples; export it as one file."""

from cgan.generation.generator import (
    TrainedGenerator,
    draw_noise,
    generate,
    interpolate,
    load_generator,
    resolve_labels,
)
from cgan.generation.rejection import generate_with_rejection, load_discriminator
from cgan.generation.sampling import sample, write_samples

__all__ = ["TrainedGenerator", "draw_noise", "generate", "generate_with_rejection", "interpolate",
           "load_discriminator", "load_generator", "resolve_labels", "sample", "write_samples"]
