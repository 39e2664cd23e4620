"""Generate chosen classes from a checkpoint (the same as ``cgan-sample``):
``python sample.py ckpt_path=outputs/<run>/checkpoints/last.ckpt labels=[5] n_per_label=16``.

See conf/sample.yaml for every option.
"""

from cgan.cli.sample import main

if __name__ == "__main__":
    main()
