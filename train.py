"""Train a conditional GAN: ``python train.py [group=choice ...] [key=value ...]`` (the same as ``cgan-train``).

See README.md and conf/train.yaml; ``python train.py --help`` lists the config groups.
"""

from cgan.cli.train import main

if __name__ == "__main__":
    main()
