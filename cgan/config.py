"""Where the Hydra config tree lives, the one function that composes it outside a command's ``@hydra.main``
(the API, benchmarks and tests), the checks a composed config gets before anything runs, and turning its
``_target_`` nodes into objects with user mistakes explained."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from cgan.errors import UserError
from cgan.renamed import old_key_problem

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def check_config_tree() -> None:
    """The commands and the API compose ``conf/`` beside the package: an editable install from the clone. A plain
    ``pip install .`` copies the package without it, and is told so in one sentence."""
    if not Path(CONF_DIR, "train.yaml").is_file():
        raise UserError(f"cgan's config tree is not at {CONF_DIR} (installed with a plain `pip install .`?): "
                        "install it from the clone with `pip install -e .` and run the commands there")


def compose(config_name: str, overrides: Sequence[str] = (), run_dir: str | Path | None = None,
            require_values: bool = True, keep_hydra: bool = False) -> DictConfig:
    """conf/<config_name>.yaml with command-line style ``overrides``, as the command would see it (its run dir at
    ``run_dir`` when given; the ``hydra`` node only with ``keep_hydra``, for a look at launchers and sweepers).
    A composition error (an unknown key or group option, a malformed override, an option's name before it moved)
    is one sentence; with ``require_values``, so is a ``???`` left unset."""
    check_config_tree()
    overrides = [str(o) for o in overrides]
    problem = old_key_problem(overrides)
    if problem:
        raise UserError(problem)
    placed = [f"hydra.run.dir={run_dir}", f"paths.output_dir={run_dir}"] if run_dir is not None else []
    if GlobalHydra.instance().is_initialized():  # a composition left behind by an earlier call
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            cfg = hydra_compose(config_name, overrides=[*placed, *overrides], return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as err:
        # Hydra's message, on one line ("Could not find 'model/nope' Available options in 'model': cgan dcgan ...").
        message = " ".join(str(err).replace(f"In '{config_name}': ", "").split())
        raise UserError(f"{message} (overrides: {' '.join(overrides) or 'none'})") from None
    HydraConfig.instance().set_config(cfg)  # for ${hydra:...} interpolations
    if not keep_hydra:
        with open_dict(cfg):  # as under a command, the task sees no `hydra` node
            del cfg.hydra
    if require_values:  # the task's values (hydra's own, such as a sweep's job number, are Hydra's to fill)
        check_no_missing_values(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]) if keep_hydra else cfg)
    return cfg


def folder_key(root: str | None) -> str:
    """``_`` and 8 hex digits naming an image folder's contents (class folders, file names and sizes), so
    two folders with the same class names never share a classifier file; '' for data without a folder.
    Used in conf/ as ``${cgan_folder_key:${oc.select:data.root,null}}``."""
    path = Path(str(root)) if root else None
    if path is None or not path.is_dir():
        return ""
    digest = hashlib.sha1()
    for folder in sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith(".")):
        for file in sorted(f for f in folder.rglob("*") if f.is_file()):
            digest.update(f"{file.relative_to(path)}|{file.stat().st_size}\n".encode())
    return "_" + digest.hexdigest()[:8]


def batches_for_images(images: int, batch_size: int) -> int:
    """Batches that show ``images`` images at ``batch_size``: a budget in images, the same whatever the
    batch size (``${cgan_batches_for:192000,${data.batch_size}}`` in conf/)."""
    return -(-int(images) // int(batch_size))


def job_dir_name(num, overrides) -> str:
    """A sweep job's folder: ``<num>_<its overrides>`` (what TensorBoard names its curves by), with "/" made
    "_" and, past 120 characters, cut and ended by 8 hex digits naming the whole, to fit a file name."""
    overrides = str(overrides or "").replace("/", "_")
    name = f"{num}_{overrides}" if overrides else str(num)
    if len(name) <= 120:
        return name
    return f"{name[:110]}..{hashlib.sha1(overrides.encode()).hexdigest()[:8]}"


# trainer.accelerator values that mean a GPU-class device. "auto" and "mps" count as a CPU: a laptop's size.
BIG_DEVICES = ("gpu", "cuda", "tpu", "hpu")


def by_device(on_gpu: Any, on_cpu: Any, *, _root_: DictConfig) -> Any:
    """``${cgan_by_device:<GPU value>,<CPU value>}``: the value for the run's ``trainer.accelerator`` (a config
    without a trainer, such as cgan-evaluate's, takes the CPU value). So one command, e.g. data=rps, trains
    article 002's 128x128 on a GPU and a run a CPU finishes on a CPU."""
    accelerator = OmegaConf.select(_root_, "trainer.accelerator", default="cpu")
    return on_gpu if str(accelerator) in BIG_DEVICES else on_cpu


OmegaConf.register_new_resolver("cgan_by_device", by_device, replace=True)
OmegaConf.register_new_resolver("cgan_folder_key", folder_key, replace=True)
OmegaConf.register_new_resolver("cgan_job_dir", job_dir_name, replace=True)
OmegaConf.register_new_resolver("cgan_batches_for", batches_for_images, replace=True)
# trainer.max_steps counts D and G steps: two per batch.
OmegaConf.register_new_resolver("cgan_steps_for", lambda images, batch: 2 * batches_for_images(images, batch),
                                replace=True)

# Every `???` (required) key of conf/, with the example its error message shows. A test checks that
# each `???` in the tree has one here.
MISSING_EXAMPLES = {
    "data.root": "data.root=path/to/images (a folder holding one sub-folder of images per class)",
    "ckpt_path": "ckpt_path=outputs/<run>/checkpoints/last.ckpt",
}


def check_no_missing_values(cfg: DictConfig) -> None:
    """One sentence naming each required key left at ``???``, with an example, instead of omegaconf's
    MissingMandatoryValue traceback somewhere deep in the run."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if not missing:
        return
    examples = "; ".join(MISSING_EXAMPLES.get(key, f"{key}=<value>") for key in missing)
    names = ", ".join(missing)
    raise UserError(f"{names} must be set ({'it has' if len(missing) == 1 else 'they have'} no default); "
                    f"add it to the command line, e.g. {examples}")


def instantiate_or_explain(cfg: DictConfig, what: str, **kwargs) -> Any:
    """hydra's instantiate, with the user's own mistakes (bad values) reported as one sentence."""
    try:
        return instantiate(cfg, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, UserError):
            raise cause from None
        if isinstance(cause, (ValueError, TypeError)):
            raise UserError(f"bad {what} config: {cause}") from err
        raise
