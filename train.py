"""Train a conditional GAN: ``python train.py [group=choice ...] [key=value ...]``.

See README.md and conf/train.yaml; ``python train.py --help`` lists the config groups.
"""

from cgan.cli import train_main

if __name__ == "__main__":
    train_main()
