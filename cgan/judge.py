"""The old ``python -m cgan.judge`` form, kept working: the command is now ``cgan-judge`` (:mod:`cgan.cli.judge`)."""

from cgan.cli.judge import main

if __name__ == "__main__":
    main()
