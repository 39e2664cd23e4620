"""The old ``python -m cgan.evaluate`` form, kept working: the command is now ``cgan-evaluate`` (:mod:`cgan.cli.evaluate`)."""

from cgan.cli.evaluate import main

if __name__ == "__main__":
    main()
