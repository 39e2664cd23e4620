"""Fingerprints of the weights a seeded short run ends with, to show that a change to the code (not to the
math) trains bit for bit the same nets.

    python -m benchmarks.same_numbers --data-dir <folder with MNIST/ and rps/> --out before.json
    ... change the code ...
    python -m benchmarks.same_numbers --data-dir <...> --out after.json --compare before.json

Each preset trains a few hundred optimizer steps in float32 on the real images (logging and scoring off), then
the SHA-256 of every tensor of its generator, discriminator, EMA copy and method state is printed, keyed by
the tensor's name, as a JSON object. ``--compare`` says which tensors differ. The fingerprints hold for one
kind of CPU (oneDNN picks kernels per instruction set, and they round differently): compare runs made on the
same kind. ``same_numbers_9a5b516.json`` is the layout before the model's options were grouped, on a 2-core AVX2
AMD EPYC.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import torch

PRESETS = {
    "mnist_5min": ["experiment=mnist_5min", "trainer.max_steps=400"],
    # The EMA as the preset had it when same_numbers_9a5b516.json was made (a readout: G and D train the same).
    "rps_best": ["experiment=rps_best", "trainer.max_steps=200", "model.ema.decay=0.999", "model.ema.halflife_images=null"],
    # The methods neither preset uses: ADA, top-k, ACGAN, label smoothing, the hinge loss, a wider check interval.
    "mnist_methods": ["experiment=mnist_best", "trainer.max_steps=200", "model.discriminator.conditioning=acgan",
                      "model.objective.loss=hinge", "model.augment.ada_target=0.6", "model.augment.ada_interval=2",
                      "model.augment.policy=[color,translation,cutout]", "model.objective.topk_gamma=0.5",
                      "model.objective.label_smoothing=0.1", "model.objective.acgan_fake_class_loss=false",
                      "model.guard.check_interval=3"],
}
COMMON = ["trainer.precision=32-true", "trainer.max_time=null", "logger=none", "callbacks=none",
          "trainer.limit_val_batches=0", "trainer.enable_progress_bar=false", "print_config=false", "seed=42",
          "num_threads=2"]


def fingerprints(state: dict[str, torch.Tensor]) -> dict[str, str]:
    return {name: hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:16]
            for name, t in sorted(state.items())}


def train_preset(name: str, data_dir: str) -> dict[str, str]:
    from cgan.config import compose
    from cgan.training import train

    with tempfile.TemporaryDirectory() as run_dir:
        cfg = compose("train", [*PRESETS[name], *COMMON, f"paths.data_dir={data_dir}"], run_dir=run_dir)
        run = train(cfg)
        return fingerprints(run.model.state_dict())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--out", type=Path, help="write the fingerprints here (JSON)")
    parser.add_argument("--compare", type=Path, help="a JSON file this script wrote before")
    args = parser.parse_args(argv)
    result = {name: train_preset(name, args.data_dir) for name in args.presets}
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1))
    if args.compare is None:
        return
    before, failed = json.loads(args.compare.read_text()), False
    for name, now in result.items():
        # Tensors renamed by the change are matched by their old names (their content must still agree).
        old = {RENAMED.get(k, k): v for k, v in before[name].items()}
        differ = sorted(k for k in set(old) | set(now) if old.get(k) != now.get(k))
        print(f"{name}: {len(now)} tensors, {'bit for bit the same' if not differ else f'{len(differ)} differ: ' + ', '.join(differ[:8])}")
        failed = failed or bool(differ)
    sys.exit(1 if failed else 0)


# Old state_dict name -> new one, for tensors that moved to the object that owns them.
RENAMED = {"ada_state": "augment.ada_state", "lecam_anchors": "objective.lecam_anchors"}

if __name__ == "__main__":
    main()
