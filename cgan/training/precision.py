"""``trainer.precision=auto``: bf16 on a GPU that supports it, float32 on every CPU.

On a CPU, bf16-mixed trains worse at equal images: the gesture preset's FID doubled and its samples
gained grain (docs/results.md#bf16-on-a-cpu), so ``auto`` trains a CPU in float32 until bf16 matches it;
``trainer.precision=bf16-mixed`` still chooses it.

Chosen by hand on a CPU with bf16 matrix units, PyTorch's autocast runs convolutions and matrix products in bfloat16
through oneDNN: Intel's AMX tiles do them 5-6x faster than float32 (a 2048x2048 matmul 1,577 against
257 GFLOP/s on 2 cores), AVX512-BF16 about 2x; a whole training step gains less, since BatchNorm,
activations and the optimizer stay float32 (docs/devices-speed-sweeps.md). On CUDA devices that
support bf16 it is Lightning's usual bf16-mixed. What stays float32 under it: the weights, BatchNorm
statistics, the optimizer state, the EMA generator, D's logits and every loss and penalty computed
from them (cgan/model/gan.py), and the metrics, which run outside autocast.
"""

from __future__ import annotations

import torch

PRECISIONS = ("auto", "32-true", "32", "bf16-mixed", "bf16-true", "16-mixed", "16-true", "64-true", "transformer-engine")


def cpu_bf16_units() -> str | None:
    """``AMX`` or ``AVX512-BF16`` when this CPU has bf16 matrix instructions PyTorch uses, else None."""
    if torch.cpu._is_amx_tile_supported():
        return "AMX"
    if torch.cpu._is_avx512_bf16_supported():
        return "AVX512-BF16"
    return None


def choose_precision(requested: str | int, accelerator: str) -> tuple[str, str]:
    """(the precision to train in, why, in words for the start of the run). Anything but ``auto`` is
    kept as given."""
    requested = str(requested)
    if requested != "auto":
        return requested, "as set (trainer.precision)"
    accelerator = str(accelerator)
    if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        if torch.cuda.is_bf16_supported():
            return "bf16-mixed", f"{torch.cuda.get_device_name()} computes in bf16"
        return "32-true", f"{torch.cuda.get_device_name()} has no bf16 support"
    if accelerator in ("cpu", "auto"):
        units = cpu_bf16_units()
        if units:  # faster, but not yet as good: see the module's docstring
            return "32-true", (f"this CPU has {units} bf16 matrix units, but bf16-mixed trains worse images "
                               "here at equal images (docs/results.md#bf16-on-a-cpu)")
        return "32-true", "this CPU has no bf16 matrix units (AMX or AVX512-BF16)"
    return "32-true", f"float32 on {accelerator}"
