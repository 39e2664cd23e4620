"""Where a training step's time goes: the framework's own step, profiled op by op and block by block.

    python -m benchmarks.profile_step experiment=rps_best paths.data_dir=/path/to/data
    python -m benchmarks.profile_step experiment=rps_best trainer.precision=bf16-mixed --batches 20

Runs ``--warmup`` then ``--batches`` training batches of the composed train config through
ConditionalGAN under a Lightning Trainer (as python -m benchmarks.bench does: callbacks off), the timed ones under
``torch.profiler``, and prints three tables:

1. each kind of operator's share of the step (convolutions, the [1, 3, 3, 1] filters, transposed
   convolutions, BatchNorm, activations, padding, the optimizer, copies and casts, ...), and whether its
   kernels are oneDNN's (``mkldnn_*``: the CPU's fast path) or PyTorch's own (``slow_conv*``,
   depthwise kernels, reference loops);
2. the step's phases as the framework names them (D forward and backward, R1's double backward, the G
   step, EMA, optimizers), from the ``record_function`` ranges ConditionalGAN opens;
3. each block of G and D (its direct children), forward and forward + backward, timed alone on the
   input it gets in training, in the run's precision.

The step itself is not changed: the figures are the preset's, on this machine.
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import lightning as L
import torch
from omegaconf import open_dict

from benchmarks.bench import autocast_dtype, benchmark_config
from cgan.checkpoints import batches_trained
from cgan.data import build_datamodule
from cgan.training import build_loggers, build_model, build_trainer
from cgan.training.precision import cpu_bf16_units

log = logging.getLogger(__name__)

# (kind, pattern on the aten op name); the first that matches wins. "filter": a depthwise conv (groups ==
# channels), which is what the [1, 3, 3, 1] low-pass is; told apart by its input shapes below.
KINDS = (
    ("optimizer", r"_foreach_|adam|Optimizer"),
    ("transposed conv", r"conv_transpose|convolution_backward.*transpose"),
    ("conv", r"convolution|conv2d|mkldnn_conv|slow_conv|conv_depthwise"),
    ("matmul", r"addmm|\bmm\b|matmul|linear|bmm"),
    ("BatchNorm", r"batch_norm"),
    ("activation", r"leaky_relu|relu|tanh|sigmoid|softplus|gelu"),
    ("padding", r"pad|reflection"),
    ("copy, cast, layout", r"copy_|_to_copy|\bto\b|contiguous|clone|empty_like|as_strided"),
    ("random numbers", r"randn|normal_|uniform_|rand|bernoulli"),
    ("reduction", r"sum|mean|norm|var|std"),
    ("elementwise", r"mul|add|sub|div|where|clamp|pow|exp|log|neg|lerp|sqrt|abs|sign|ge|lt|gt|le|eq"),
)
# Kernels that are oneDNN's on a CPU; anything else doing a convolution left the fast path.
FAST_PATH = re.compile(r"mkldnn|onednn")
SLOW_CONV = re.compile(r"slow_conv|conv_depthwise|_convolution_depthwise|thnn_conv|im2col|col2im")


def kind_of(name: str, shapes) -> str:
    for kind, pattern in KINDS:
        if re.search(pattern, name, re.IGNORECASE):
            if kind == "conv" and is_depthwise_filter(shapes):
                return "filter (depthwise 4x4)"
            return kind
    return "other"


def is_depthwise_filter(shapes) -> bool:
    """A conv whose weight is (C, 1, 4, 4): the low-pass filter of cgan.nets.resample."""
    return any(len(s) == 4 and s[1] == 1 and s[2:] == [4, 4] for s in shapes or [] if isinstance(s, list))


class ProfileWindow(L.Callback):
    """Starts torch.profiler after ``warmup`` batches and stops it after ``batches`` more; records each block's
    input the first time it runs (for the block table)."""

    def __init__(self, warmup: int, batches: int):
        self.warmup, self.batches = warmup, batches
        self.profiler: torch.profiler.profile | None = None
        self.seconds = 0.0
        self.timed = 0
        self.block_inputs: dict[str, tuple] = {}
        self._hooks = []

    def on_fit_start(self, trainer, pl_module):
        for net_name in ("generator", "discriminator"):
            net = getattr(pl_module, net_name)
            for child_name, child in net.named_children():
                prefix = f"{'G' if net_name == 'generator' else 'D'}.{child_name}"
                # A Sequential's layers one by one (nets may run them in a loop of their own).
                layers = (child.named_children() if isinstance(child, (torch.nn.Sequential, torch.nn.ModuleList))
                          else [("", child)])
                for layer_name, layer in layers:
                    name = f"{prefix}.{layer_name} {type(layer).__name__}" if layer_name else prefix
                    self._hooks.append(layer.register_forward_hook(self._keeper(name, layer)))

    def _keeper(self, name, module):
        def keep(mod, args, output):
            if name not in self.block_inputs and args and all(isinstance(a, torch.Tensor) for a in args):
                self.block_inputs[name] = (module, tuple(a.detach().clone() for a in args))
        return keep

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        done = batches_trained(trainer)
        if done == self.warmup and self.profiler is None:
            for hook in self._hooks:
                hook.remove()
            self.profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                                   record_shapes=True)
            self.profiler.__enter__()
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.profiler is not None and self.timed < self.batches:
            self.timed += 1
            if self.timed == self.batches:
                self.seconds = time.perf_counter() - self.start
                self.profiler.__exit__(None, None, None)


def op_table(profiler, batches: int) -> tuple[list[tuple], float]:
    """Rows (kind, ms per batch, share, ops on the fast path, ops off it) and the total self time per batch."""
    per_kind: dict[str, float] = defaultdict(float)
    fast: dict[str, set] = defaultdict(set)
    slow: dict[str, set] = defaultdict(set)
    total = 0.0
    for event in profiler.key_averages(group_by_input_shape=True):
        if not event.key.startswith("aten::") and not event.key.startswith("Optimizer"):
            continue
        seconds = event.self_cpu_time_total / 1e6
        if seconds <= 0:
            continue
        kind = kind_of(event.key, event.input_shapes)
        per_kind[kind] += seconds
        total += seconds
        if FAST_PATH.search(event.key):
            fast[kind].add(event.key.removeprefix("aten::"))
        elif SLOW_CONV.search(event.key):
            slow[kind].add(event.key.removeprefix("aten::"))
    rows = [(kind, 1000 * s / batches, s / total, ", ".join(sorted(fast[kind])), ", ".join(sorted(slow[kind])))
            for kind, s in sorted(per_kind.items(), key=lambda kv: -kv[1])]
    return rows, 1000 * total / batches


def phase_table(profiler, batches: int) -> list[tuple]:
    """(range name, ms per batch) of the record_function ranges the step opens (names with a '/')."""
    rows = [(e.key, 1000 * e.cpu_time_total / 1e6 / batches) for e in profiler.key_averages()
            if "/" in e.key and not e.key.startswith("aten::")]
    return sorted(rows, key=lambda r: -r[1])


def block_table(block_inputs: dict, dtype: torch.dtype | None, repeats: int = 5) -> list[tuple]:
    """(block, input shape, forward ms, forward + backward ms): each block alone, median of ``repeats``."""
    rows = []
    for name, (module, args) in block_inputs.items():
        params = [p for p in module.parameters() if p.requires_grad]

        def run(backward: bool):
            # Not leaves: an in-place activation may write into its input, as it does inside the net.
            inputs = tuple(a.clone().requires_grad_(True).clone() if backward and a.is_floating_point() else a
                           for a in args)
            with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
                out = module(*inputs)
            if backward:
                out = out[0] if isinstance(out, tuple) else out
                if out.requires_grad:  # a layer with no weights on an input without gradient has none
                    out.float().square().mean().backward()

        timings = {}
        for backward in (False, True):
            samples = []
            for i in range(repeats + 1):
                start = time.perf_counter()
                with torch.set_grad_enabled(backward):
                    run(backward)
                if i:  # the first is a warm-up
                    samples.append(1000 * (time.perf_counter() - start))
            timings[backward] = statistics.median(samples)
        for p in params:
            p.grad = None
        rows.append((name, "x".join(map(str, args[0].shape)), timings[False], timings[True]))
    return rows


def run(overrides: list[str], warmup: int, batches: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = benchmark_config(overrides, Path(tmp))
        datamodule = build_datamodule(cfg)
        L.seed_everything(0, workers=True)
        model = build_model(cfg, datamodule)
        with open_dict(cfg):
            cfg.trainer.max_steps = 2 * (warmup + batches)  # Lightning counts the D and the G step
        trainer = build_trainer(cfg, build_loggers(cfg))  # resolves trainer.precision=auto
        window = ProfileWindow(warmup, batches)
        trainer.callbacks.append(window)
        trainer.fit(model, datamodule=datamodule)
        precision = str(cfg.trainer.precision)
        ops, op_ms = op_table(window.profiler, batches)
        model.cpu()
        blocks = block_table(window.block_inputs, autocast_dtype(cfg))
        return {"precision": precision, "batch_size": cfg.data.batch_size, "batches": batches,
                "seconds_per_batch": window.seconds / batches, "op_ms": op_ms, "ops": ops,
                "phases": phase_table(window.profiler, batches), "blocks": blocks}


def report(result: dict) -> str:
    ms = 1000 * result["seconds_per_batch"]
    lines = [f"{result['batches']} batches of {result['batch_size']} in {result['precision']}: {ms:.0f} ms a batch, "
             f"{result['batch_size'] / result['seconds_per_batch']:.1f} images/s (profiled: the profiler adds a little); "
             f"CPU bf16 units: {cpu_bf16_units() or 'none'}; {torch.get_num_threads()} threads",
             "", "| operator kind | ms a batch | share | oneDNN kernels | kernels off the fast path |",
             "| --- | --- | --- | --- | --- |"]
    for kind, kind_ms, share, fast, slow in result["ops"]:
        lines.append(f"| {kind} | {kind_ms:.1f} | {100 * share:.0f}% | {fast or '-'} | {slow or '-'} |")
    lines.append(f"| all operators | {result['op_ms']:.1f} | 100% | | |")
    if result["phases"]:
        lines += ["", "| phase (the step's own ranges) | ms a batch | share of the batch |", "| --- | --- | --- |"]
        for name, phase_ms in result["phases"]:
            lines.append(f"| {name} | {phase_ms:.1f} | {100 * phase_ms / ms:.0f}% |")
    lines += ["", "| block (alone, on its training input) | input | forward ms | forward + backward ms |",
              "| --- | --- | --- | --- |"]
    for name, shape, fwd, both in result["blocks"]:
        lines.append(f"| {name} | {shape} | {fwd:.1f} | {both:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batches", type=int, default=20)
    args, overrides = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(report(run(overrides, args.warmup, args.batches)))


if __name__ == "__main__":
    main()
