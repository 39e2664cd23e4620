"""Where the Hydra config tree lives, the checks a composed config gets before anything runs, and
turning its ``_target_`` nodes into objects with user mistakes explained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from cgan.errors import UserError

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")

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
