"""``python -m cgan.evaluate ckpt_path=<ckpt>`` or ``gen_dir=<folder>``: score a generator (see cgan.metrics)."""

from cgan.cli import evaluate_main

if __name__ == "__main__":
    evaluate_main()
