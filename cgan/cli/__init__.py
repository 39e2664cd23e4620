"""The commands: one small module each (``@hydra.main``, config -> one library call, nothing else).

    train.py     cgan-train     (python train.py)
    sample.py    cgan-sample    (python sample.py)
    evaluate.py  cgan-evaluate
    judge.py     cgan-judge
    export.py    cgan-export
    app.py       cgan-app

Every one runs as ``python -m cgan.cli.<name>`` too. ``common.py`` holds what they share.
"""

import sys

from cgan.config import check_config_tree
from cgan.errors import UserError

try:  # before any command's @hydra.main looks for conf/: one sentence, not Hydra's traceback
    check_config_tree()
except UserError as err:
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)
