"""Other readouts of one trained run's generator, to score beside its EMA copy (docs/results.md, "Levers at
equal images"): a copy of a checkpoint whose EMA generator is replaced by

* ``--live``: the live G, the one training moved (what the checkpoint would give without model.ema), or
* ``--standing N``: the EMA G with its BatchNorm statistics recomputed from its own activations (N batches
  of noise and random labels, BigGAN's "standing statistics"); training copies the live G's statistics
  into the average, which were measured on other weights.

    python -m benchmarks.generator_readouts outputs/probes/base-s7/checkpoints/last.ckpt outputs/probes/base-s7-live --live
    python -m benchmarks.score_steps outputs/probes/base-s7-live/checkpoints/last.ckpt data=rps n_per_class=300

The copy is a run folder of its own (``OUT/checkpoints/last.ckpt``, the run's ``.hydra`` beside it) that
cgan-evaluate, sample.py and benchmarks.score_steps read like any run.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from torch import nn

from cgan.checkpoints import read_checkpoint
from cgan.nets.build import build_generator

EMA = "generator_ema."
LIVE = "generator."


def standing_statistics(net: nn.Module, latent_dim: int, num_classes: int, batches: int, batch_size: int = 32,
                        seed: int = 0) -> None:
    """Replace every BatchNorm's running statistics by their average over ``batches`` forward passes of the
    net itself, in training mode (each batch normalised by its own statistics, as in training)."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches below
    gen = torch.Generator().manual_seed(seed)
    net.train()
    with torch.no_grad():
        for _ in range(batches):
            net(torch.randn(batch_size, latent_dim, generator=gen), torch.randint(0, num_classes, (batch_size,), generator=gen))
    net.eval()


def readout(ckpt_path: Path, out_dir: Path, live: bool = False, standing: int = 0) -> Path:
    """Write the copy (see the module's doc); returns its checkpoint's path."""
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    state = ckpt["state_dict"]
    if not any(k.startswith(EMA) for k in state):
        raise SystemExit(f"{ckpt_path} has no EMA generator (trained without model.ema)")
    if live:
        for key in [k for k in state if k.startswith(EMA)]:
            state[key] = state[LIVE + key[len(EMA):]].clone()
    if standing:
        hp = read_checkpoint(ckpt_path)["hyper_parameters"]
        data = hp["data"]
        net = build_generator(hp["generator"], hp["latent_dim"], data["num_classes"], data["image_shape"])
        net.load_state_dict({k[len(EMA):]: v for k, v in state.items() if k.startswith(EMA)})
        standing_statistics(net, hp["latent_dim"], data["num_classes"], standing)
        state.update({EMA + k: v for k, v in net.state_dict().items()})
    (out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    hydra = ckpt_path.parent.parent / ".hydra"
    if hydra.is_dir():
        shutil.copytree(hydra, out_dir / ".hydra", dirs_exist_ok=True)
    out = out_dir / "checkpoints" / "last.ckpt"
    torch.save(ckpt, out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ckpt", type=Path)
    parser.add_argument("out_dir", type=Path)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--live", action="store_true", help="the live G in place of the EMA copy")
    group.add_argument("--standing", type=int, metavar="N", help="the EMA G, BatchNorm statistics from N batches")
    args = parser.parse_args(argv)
    print(readout(args.ckpt, args.out_dir, live=args.live, standing=args.standing or 0))


if __name__ == "__main__":
    main()
