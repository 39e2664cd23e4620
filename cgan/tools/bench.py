"""Training-speed benchmark: the framework against a plain PyTorch loop of the same nets.

    cgan-bench [--batches N] [--warmup N] [--article] [hydra overrides ...]
    cgan-bench data.batch_size=256 paths.data_dir=../shared/data
    cgan-bench model=dcgan data=rps trainer.accelerator=gpu trainer.precision=bf16-mixed

Times ``--batches`` training batches (after ``--warmup``, median of ``--repeats``) of the composed train config
(a) through ConditionalGAN + Lightning + the DataModule, exactly as train.py runs it
(checkpoint and grid callbacks off: they are periodic I/O, not per-step cost), and
(b) as a minimal hand-written loop of the same nets, optimizers and batch size over an
in-memory tensor. With ``--article`` it also times (c) the seed article's pipeline:
torchvision MNIST + ToTensor/Normalize + DataLoader(num_workers=2) + the plain loop.
Prints images/s, the ratios, FLOPs per image (torch.utils.flop_counter), achieved FLOP/s
and its share of a measured float32 matmul peak.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import lightning as L
import torch
from omegaconf import open_dict
from torch.utils.flop_counter import FlopCounterMode

from cgan.data import build_datamodule
from cgan.data.base import to_unit_range
from cgan.model import apply_speed_options, losses
from cgan.training import build_loggers, build_model, build_trainer, compose_train_config

log = logging.getLogger(__name__)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, n: int = 2048, reps: int = 10, trials: int = 5) -> float:
    """Measured float32 matmul FLOP/s on this device, best of ``trials`` (the ceiling the training
    step is compared with; conv kernels can beat it, so a conv net may show more than 100%)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(trials):
        sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync(device)
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - start))
    return best


class PlainLoop:
    """The same algorithm as ConditionalGAN.training_step, without Lightning: one G forward per batch,
    a D step on real vs detached fake, a G step through the updated D."""

    def __init__(self, model, device: torch.device, autocast_dtype: torch.dtype | None = None):
        hp = model.hparams
        self.g, self.d = model.generator.to(device), model.discriminator.to(device)
        apply_speed_options(self.g, self.d, hp)  # the same nets: compiled / channels_last alike
        self.opt_g, self.opt_d = model.configure_optimizers()
        self.loss, self.latent_dim, self.device = hp.loss, hp.latent_dim, device
        self.autocast_dtype = autocast_dtype

    def step(self, real: torch.Tensor, labels: torch.Tensor) -> None:
        with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            z = torch.randn(real.shape[0], self.latent_dim, device=self.device)
            fake = self.g(z, labels)
            d_loss = losses.discriminator_loss(self.loss, self.d(real, labels), self.d(fake.detach(), labels))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            g_loss = losses.generator_loss(self.loss, self.d(fake, labels))
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()


def time_loop(loop: PlainLoop, batches, n_warmup: int, n_timed: int) -> float:
    """Seconds for n_timed batches after n_warmup; ``batches`` yields (uint8 or float images, labels)."""
    it = iter(batches)
    start = None
    for i in range(n_warmup + n_timed):
        if i == n_warmup:
            sync(loop.device)
            start = time.perf_counter()
        real, labels = next(it)
        real, labels = real.to(loop.device, non_blocking=True), labels.to(loop.device, non_blocking=True)
        if real.dtype == torch.uint8:
            real = to_unit_range(real)
        loop.step(real, labels)
    sync(loop.device)
    return time.perf_counter() - start


def in_memory_batches(images: torch.Tensor, labels: torch.Tensor, batch_size: int):
    """Endless shuffled batches from tensors already in memory (the plain loop's data)."""
    n = len(labels)
    while True:
        order = torch.randperm(n, device=images.device)
        for b in range(n // batch_size):
            index = order[b * batch_size : (b + 1) * batch_size]
            yield images[index], labels[index]


class StepTimer(L.Callback):
    def __init__(self, n_warmup: int):
        self.n_warmup, self.start, self.seconds, self.batches = n_warmup, None, None, 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.start is None and trainer.fit_loop.epoch_loop._batches_that_stepped >= self.n_warmup:
            sync(pl_module.device)
            self.start = time.perf_counter()
            self.first = trainer.fit_loop.epoch_loop._batches_that_stepped

    def on_train_end(self, trainer, pl_module):
        sync(pl_module.device)
        self.seconds = time.perf_counter() - self.start
        self.batches = trainer.fit_loop.epoch_loop._batches_that_stepped - self.first


def flops_per_image(model, device: torch.device, batch_size: int) -> float:
    """FLOPs of one training step per image: G forward, D on real and fake, both backwards."""
    loop = PlainLoop(model, device)
    shape = model.hparams.image_shape
    real = torch.rand(batch_size, *shape, device=device) * 2 - 1
    labels = torch.randint(0, model.hparams.num_classes, (batch_size,), device=device)
    with FlopCounterMode(display=False) as counter:
        loop.step(real, labels)
    return counter.get_total_flops() / batch_size


def compose_config(overrides: list[str], run_dir: Path):
    cfg = compose_train_config(overrides, run_dir)
    with open_dict(cfg):
        cfg.print_config = False
        cfg.callbacks = {}  # checkpoints, grids, metrics are periodic work, not the per-step cost measured here
        cfg.trainer.enable_progress_bar = False
        cfg.trainer.enable_model_summary = False
        cfg.trainer.limit_val_batches = 0
        cfg.trainer.enable_checkpointing = False
    return cfg


def time_framework(cfg, datamodule, n_warmup: int, n_timed: int) -> float:
    """images/s of train.py's own path: ConditionalGAN under a Lightning Trainer, TensorBoard logging on."""

    L.seed_everything(0, workers=True)
    model = build_model(cfg, datamodule)
    with open_dict(cfg):
        cfg.trainer.max_steps = 2 * (n_warmup + n_timed)  # Lightning counts the D and the G step
    trainer = build_trainer(cfg, build_loggers(cfg))
    timer = StepTimer(n_warmup)
    trainer.callbacks.append(timer)
    trainer.fit(model, datamodule=datamodule)
    return timer.batches * cfg.data.batch_size / timer.seconds


def time_plain(cfg, datamodule, device, n_warmup: int, n_timed: int) -> float:
    """images/s of the hand-written loop over the same in-memory data on the same device."""
    L.seed_everything(0)
    precision = str(cfg.trainer.precision)
    autocast = torch.bfloat16 if precision.startswith("bf16") else torch.float16 if precision.startswith("16") else None
    loop = PlainLoop(build_model(cfg, datamodule), device, autocast)
    data = datamodule.train_set.to(device)
    batches = in_memory_batches(data.images, data.labels, cfg.data.batch_size)
    return n_timed * cfg.data.batch_size / time_loop(loop, batches, n_warmup, n_timed)


def time_article(cfg, datamodule, device, n_warmup: int, n_timed: int) -> float | None:
    """images/s of the seed article's input pipeline feeding the plain loop (MNIST files needed)."""
    from torchvision import datasets, transforms

    data_dir = Path(cfg.paths.data_dir)
    if not (data_dir / "MNIST" / "raw").is_dir():
        log.warning("--article needs the MNIST files under %s/MNIST/raw; skipped", data_dir)
        return None
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    dataset = datasets.MNIST(str(data_dir), train=True, transform=tf)
    loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.data.batch_size, shuffle=True, num_workers=2,
                                         drop_last=True, persistent_workers=True)

    def endless():
        while True:
            yield from loader

    L.seed_everything(0)
    loop = PlainLoop(build_model(cfg, datamodule), device, None)
    return n_timed * cfg.data.batch_size / time_loop(loop, endless(), n_warmup, n_timed)


def run(args) -> dict:
    """Each pipeline ``args.repeats`` times, interleaved (so a slow spell of the machine hits all of
    them alike); the median of each is reported."""
    import statistics
    import tempfile

    cfg = compose_config(args.overrides, Path(tempfile.mkdtemp(prefix="cgan-bench-")))
    with open_dict(cfg):
        cfg.trainer.max_epochs = -1
    datamodule = build_datamodule(cfg)
    device = torch.device("cuda" if cfg.trainer.accelerator in ("gpu", "cuda") else cfg.trainer.accelerator)
    if device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device())
    samples: dict[str, list[float]] = {"framework": [], "plain": [], "article": []}
    for _ in range(args.repeats):
        samples["framework"].append(time_framework(cfg, datamodule, args.warmup, args.batches))
        samples["plain"].append(time_plain(cfg, datamodule, device, args.warmup, args.batches))
        if args.article:
            article = time_article(cfg, datamodule, device, args.warmup, args.batches)
            if article is not None:
                samples["article"].append(article)
    results = {name: statistics.median(values) for name, values in samples.items() if values}
    results["flops_per_image"] = flops_per_image(build_model(cfg, datamodule), device, cfg.data.batch_size)
    results["peak_flops"] = matmul_peak(device)
    results["device"] = str(device)
    results["batch_size"] = cfg.data.batch_size
    results["repeats"] = args.repeats
    return results


def report(results: dict) -> str:
    fpi, peak = results["flops_per_image"], results["peak_flops"]
    header = (f"device {results['device']}, batch {results['batch_size']}, median of {results['repeats']} runs, "
              f"{fpi / 1e6:.1f} MFLOP per image per training step (G and D), "
              f"measured float32 matmul peak {peak / 1e9:.0f} GFLOP/s")
    lines = [header, "",
             f"{'pipeline':<12}{'images/s':>10}{'GFLOP/s':>10}{'of peak':>9}"]
    for name in ("framework", "plain", "article"):
        if name in results:
            ips = results[name]
            lines.append(f"{name:<12}{ips:>10.0f}{ips * fpi / 1e9:>10.1f}{ips * fpi / peak:>9.0%}")
    lines.append("")
    lines.append(f"framework / plain loop: {results['framework'] / results['plain']:.2f}")
    if "article" in results:
        lines.append(f"framework / article pipeline: {results['framework'] / results['article']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=300, help="timed batches (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed batches first (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repetitions, median reported (default 3)")
    parser.add_argument("--article", action="store_true", help="also time the seed article's DataLoader pipeline")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml, as for train.py")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):  # keep the report readable
        logging.getLogger(name).setLevel(logging.WARNING)
    print(report(run(args)))


if __name__ == "__main__":
    main()
