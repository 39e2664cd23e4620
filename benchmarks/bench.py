"""Training-speed benchmark: the framework against a hand-written loop doing the same math.

    python -m benchmarks.bench [--batches N] [--warmup N] [--repeats N] [--article] [--no-breakdown] [hydra overrides ...]
    python -m benchmarks.bench experiment=mnist_best paths.data_dir=/path/to/data
    python -m benchmarks.bench experiment=rps_best paths.data_dir=/path/to/data --batches 60
    python -m benchmarks.bench model=dcgan data=rps trainer.accelerator=gpu trainer.precision=bf16-mixed

Times ``--batches`` training batches (after ``--warmup``) of the composed train config
(a) through ConditionalGAN + Lightning + the DataModule, exactly as train.py runs it
(checkpoint, grid and metric callbacks off: their cost is amortised in the breakdown), and
(b) through :class:`benchmarks.plain_loop.PlainLoop`, the same math (DiffAugment, lazy R1, EMA,
decoder) written by hand over the same in-memory batches, interleaved ``--repeats`` times (each
repeat's ratio and the median are printed: a slow spell of the machine hits both alike). With
``--article`` it also times (c) the seed article's pipeline: torchvision MNIST + ToTensor/Normalize +
DataLoader(num_workers=2) + the plain loop. Then the breakdown: where a batch of the plain loop goes,
phase by phase, what the framework adds, a grid and a checkpoint amortised over their intervals; the
FLOPs of a batch (torch.utils.flop_counter: convolutions and matmuls) and the share of this device's
measured matmul and convolution peaks in the precision the framework trained in (the plain loop runs in it too).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import lightning as L
import torch
from omegaconf import open_dict
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from benchmarks.plain_loop import PhaseClock, PlainLoop, unsupported_methods
from cgan.checkpoints import batches_trained
from cgan.config import compose
from cgan.data import build_datamodule
from cgan.data.base import to_unit_range
from cgan.training import build_loggers, build_model, build_trainer

log = logging.getLogger(__name__)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_rate(work, flops: float, device: torch.device, reps: int = 5, trials: int = 3) -> float:
    """Best FLOP/s of ``work()`` over ``trials`` timings of ``reps`` calls (after a warm-up)."""
    for _ in range(2):
        work()
    best = 0.0
    for _ in range(trials):
        sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            work()
        sync(device)
        best = max(best, flops * reps / (time.perf_counter() - start))
    return best


def matmul_peak(device: torch.device, n: int = 1024, dtype: torch.dtype = torch.float32) -> float:
    """Measured matmul FLOP/s on this device in ``dtype``: the ceiling a training step is compared with."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    return best_rate(lambda: a @ b, 2 * n**3, device)


def conv_peak(device: torch.device, batch: int = 64, channels: int = 128, size: int = 16,
              dtype: torch.dtype = torch.float32) -> float:
    """Measured FLOP/s of a large 3x3 convolution (forward) in ``dtype``, the kind of kernel a conv GAN runs."""
    conv = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False).to(device, dtype).requires_grad_(False)
    x = torch.randn(batch, channels, size, size, device=device, dtype=dtype)
    flops = 2 * batch * channels * channels * 9 * size * size
    return best_rate(lambda: conv(x), flops, device)


def time_loop(loop: PlainLoop, batches, n_warmup: int, n_timed: int, clock: PhaseClock | None = None) -> float:
    """Seconds for n_timed batches after n_warmup; ``batches`` yields (uint8 or float images, labels).
    With ``clock``, the batch's own preparation is charged to its "data" phase."""
    it = iter(batches)
    start = None
    for i in range(n_warmup + n_timed):
        if i == n_warmup:
            sync(loop.device)
            if clock is not None:
                clock.seconds.clear()
            start = time.perf_counter()
        with clock("data") if clock is not None else nullcontext():
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
        if self.start is None and batches_trained(trainer) >= self.n_warmup:
            sync(pl_module.device)
            self.start = time.perf_counter()
            self.first = batches_trained(trainer)

    def on_train_end(self, trainer, pl_module):
        sync(pl_module.device)
        self.seconds = time.perf_counter() - self.start
        self.batches = batches_trained(trainer) - self.first


class FlopCount(TorchDispatchMode):
    """Convolution and matmul FLOPs of everything run inside it, by torch.utils.flop_counter's formulas.
    (FlopCounterMode itself tracks modules with autograd hooks that R1's autograd.grad trips over.)"""

    def __init__(self):
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.total += count(*args, **kwargs, out_val=out)
        return out


def flops_per_batch(cfg, datamodule, device: torch.device) -> float:
    """Convolution and matmul FLOPs of one training batch (G forward, D on real and fake, the decoder,
    both backwards, R1 averaged over its interval), counted on the plain loop."""
    model = build_model(cfg, datamodule)
    loop = PlainLoop(model, device)
    data, options, batch = model.data, model.options, cfg.data.batch_size
    real = torch.rand(batch, *data.image_shape, device=device) * 2 - 1
    labels = torch.randint(0, data.num_classes, (batch,), device=device)
    period = max(options.penalty.interval if options.penalty.r1_gamma > 0 else 1,
                 options.optimizer.d_steps_per_g_step)
    with FlopCount() as counter:
        for _ in range(period):
            loop.step(real, labels)
    return counter.total / period


def benchmark_config(overrides: list[str], run_dir: Path):
    """The train config with periodic work and the budget off: the steps alone are timed."""
    cfg = compose("train", overrides, run_dir)
    with open_dict(cfg):
        cfg.print_config = False
        cfg.callbacks = {}  # checkpoints, grids, metrics are periodic work: amortised in the breakdown instead
        cfg.trainer.enable_progress_bar = False
        cfg.trainer.enable_model_summary = False
        cfg.trainer.limit_val_batches = 0
        cfg.trainer.enable_checkpointing = False
        cfg.trainer.max_epochs = -1
        cfg.trainer.max_time = None
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


def autocast_dtype(cfg) -> torch.dtype | None:
    precision = str(cfg.trainer.precision)
    return torch.bfloat16 if precision.startswith("bf16") else torch.float16 if precision.startswith("16") else None


def plain_loop_and_batches(cfg, datamodule, device, clock: PhaseClock | None = None):
    L.seed_everything(0)
    loop = PlainLoop(build_model(cfg, datamodule), device, autocast_dtype(cfg), clock)
    data = datamodule.train_set.to(device)
    return loop, in_memory_batches(data.images, data.labels, cfg.data.batch_size)


def time_plain(cfg, datamodule, device, n_warmup: int, n_timed: int) -> float:
    """images/s of the hand-written loop over the same in-memory data on the same device."""
    loop, batches = plain_loop_and_batches(cfg, datamodule, device)
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


def periodic_costs(overrides: list[str], cfg, datamodule, device, framework_batches_per_s: float) -> dict[str, float]:
    """Seconds per batch of what train.py does now and then, amortised over its interval in the preset's
    default callbacks: the class grid (every_n_batches, and every epoch end) and the checkpoint (every
    every_n_train_steps steps or train_time_interval, whichever comes first)."""
    from torchvision.utils import save_image

    from cgan.images import class_grid

    # The timed config has its callbacks off; their settings come from the config as train.py composes it.
    callbacks = compose("train", overrides, Path(tempfile.mkdtemp(prefix="cgan-bench-"))).get("callbacks") or {}
    model = build_model(cfg, datamodule).to(device)
    data, costs = model.data, {}
    batches_per_epoch = max(1, len(datamodule.train_set) // cfg.data.batch_size)
    grid_cfg = callbacks.get("class_grid")
    if grid_cfg:
        n_per_class = grid_cfg.get("n_per_class", 8)
        every = grid_cfg.get("every_n_batches") or 0
        interval = min(every, batches_per_epoch) if every else batches_per_epoch
        z = torch.randn(data.num_classes * n_per_class, model.latent_dim, device=device)
        labels = torch.arange(data.num_classes, device=device).repeat_interleave(n_per_class)
        path = Path(tempfile.mkdtemp(prefix="cgan-bench-")) / "grid.png"

        def draw():
            model.sampling_generator.eval()
            with torch.no_grad():
                save_image(class_grid(model.sampling_generator(z, labels).float(), n_per_class), path)

        costs[f"grid ({data.num_classes} x {n_per_class}), every {interval} batches"] = _seconds(draw) / interval
    ckpt_cfg = callbacks.get("model_checkpoint")
    if ckpt_cfg:
        steps = ckpt_cfg.get("every_n_train_steps") or 0
        intervals = [steps // 2] if steps else []  # global steps count D and G
        if ckpt_cfg.get("train_time_interval"):
            parts = [float(x) for x in reversed(str(ckpt_cfg.train_time_interval).split(":"))]  # [DD:]HH:MM:SS
            seconds = sum(x * unit for x, unit in zip(parts, (1, 60, 3600, 86400)))
            intervals.append(int(seconds * framework_batches_per_s))
        if intervals:
            interval = max(1, min(intervals))
            opt_g, opt_d = model.configure_optimizers()
            path = Path(tempfile.mkdtemp(prefix="cgan-bench-")) / "last.ckpt"

            def save():
                state = {"state_dict": model.state_dict(), "optimizer_states": [opt_g.state_dict(), opt_d.state_dict()]}
                torch.save(state, path.with_suffix(".tmp"))
                os.replace(path.with_suffix(".tmp"), path)

            costs[f"checkpoint, every {interval} batches"] = _seconds(save) / interval
    return costs


def _seconds(work, repeats: int = 3) -> float:
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def breakdown(cfg, datamodule, device, n_warmup: int, n_timed: int) -> dict[str, float]:
    """Seconds per batch of each phase of the plain loop's step (same math as the framework's)."""
    clock = PhaseClock(device)
    loop, batches = plain_loop_and_batches(cfg, datamodule, device, clock)
    total = time_loop(loop, batches, n_warmup, n_timed, clock)
    phases = {name: seconds / n_timed for name, seconds in clock.seconds.items()}
    phases["other (loop, Python)"] = max(0.0, total / n_timed - sum(phases.values()))
    return phases


def run(args) -> dict:
    """Each pipeline ``args.repeats`` times, interleaved (so a slow spell of the machine hits all of
    them alike); the median of each and each repeat's ratio are reported."""
    cfg = benchmark_config(args.overrides, Path(tempfile.mkdtemp(prefix="cgan-bench-")))
    datamodule = build_datamodule(cfg)
    device = torch.device("cuda" if cfg.trainer.accelerator in ("gpu", "cuda") else cfg.trainer.accelerator)
    if device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device())
    missing = unsupported_methods(build_model(cfg, datamodule))
    plain_note = f"it does not write out {', '.join(missing)}" if missing else None
    samples: dict[str, list[float]] = {"framework": [], "plain": [], "article": []}
    for _ in range(args.repeats):
        samples["framework"].append(time_framework(cfg, datamodule, args.warmup, args.batches))
        if plain_note is None:
            samples["plain"].append(time_plain(cfg, datamodule, device, args.warmup, args.batches))
            if args.article:
                article = time_article(cfg, datamodule, device, args.warmup, args.batches)
                if article is not None:
                    samples["article"].append(article)
    results = {name: statistics.median(values) for name, values in samples.items() if values}
    results["ratios"] = [f / p for f, p in zip(samples["framework"], samples["plain"])]
    results["plain_note"] = plain_note
    batch = cfg.data.batch_size
    results.update(device=str(device), batch_size=batch, repeats=args.repeats, threads=torch.get_num_threads())
    if plain_note is None:
        results["flops_per_batch"] = flops_per_batch(cfg, datamodule, device)
        if args.breakdown:
            results["phases"] = breakdown(cfg, datamodule, device, args.warmup, args.batches)
            results["periodic"] = periodic_costs(args.overrides, cfg, datamodule, device, results["framework"] / batch)
    # The peaks of the precision the framework trained in (trainer.precision=auto resolved by now): a bf16
    # step is a share of what bf16 kernels can do, a float32 one of float32's.
    dtype = autocast_dtype(cfg) or torch.float32
    results["precision"] = str(cfg.trainer.precision)
    results["peaks"] = {"matmul": matmul_peak(device, dtype=dtype), "conv 3x3": conv_peak(device, dtype=dtype)}
    return results


def report(results: dict) -> str:
    batch, peaks = results["batch_size"], results["peaks"]
    peak = max(peaks.values())
    lines = [f"device {results['device']} ({results['threads']} threads), batch {batch}, "
             f"median of {results['repeats']} interleaved runs",
             f"trained in {results['precision']}; measured peaks in it: "
             + ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in peaks.items())]
    fpb = results.get("flops_per_batch")
    if fpb:
        lines.append(f"{fpb / 1e9:.2f} GFLOP per batch ({fpb / batch / 1e6:.1f} MFLOP per image; convolutions "
                     "and matmuls of G, D, decoder, both backwards, R1 averaged over its interval)")
    lines += ["", f"{'pipeline':<12}{'images/s':>10}{'ms/batch':>10}{'GFLOP/s':>10}{'of peak':>9}"]
    for name in ("framework", "plain", "article"):
        if name in results:
            ips = results[name]
            flops = f"{ips / batch * fpb / 1e9:>10.1f}{ips / batch * fpb / peak:>9.0%}" if fpb else ""
            lines.append(f"{name:<12}{ips:>10.0f}{1000 * batch / ips:>10.1f}{flops}")
    lines.append("")
    if results.get("plain_note"):
        lines.append(f"plain loop: not timed ({results['plain_note']})")
        return "\n".join(lines)
    ratios = ", ".join(f"{r:.2f}" for r in results["ratios"])
    lines.append(f"framework / plain loop: {results['framework'] / results['plain']:.2f}  (each run: {ratios})")
    if "article" in results:
        lines.append(f"framework / article pipeline: {results['framework'] / results['article']:.2f}")
    if "phases" in results:
        phases = results["phases"]
        plain_batch = batch / results["plain"]
        framework_batch = batch / results["framework"]
        lines += ["", "where a batch goes (the plain loop's phases, then what the framework adds or saves):",
                  f"{'phase':<44}{'ms/batch':>10}{'share':>8}"]
        for name, seconds in sorted(phases.items(), key=lambda kv: -kv[1]):
            lines.append(f"{name:<44}{1000 * seconds:>10.2f}{seconds / sum(phases.values()):>8.0%}")
        lines.append(f"{'framework minus plain loop (Lightning, checks)':<44}{1000 * (framework_batch - plain_batch):>10.2f}")
        for name, seconds in results.get("periodic", {}).items():
            lines.append(f"{name + ', amortised':<44}{1000 * seconds:>10.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=300, help="timed batches (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed batches first (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repetitions, median reported (default 3)")
    parser.add_argument("--article", action="store_true", help="also time the seed article's DataLoader pipeline")
    parser.add_argument("--no-breakdown", dest="breakdown", action="store_false",
                        help="skip the per-phase table and the amortised grid and checkpoint")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml, as for train.py")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):  # keep the report readable
        logging.getLogger(name).setLevel(logging.WARNING)
    print(report(run(args)))


if __name__ == "__main__":
    main()
