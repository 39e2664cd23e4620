"""The old ``python -m cgan.export`` form, kept working: the command is now ``cgan-export`` (:mod:`cgan.cli.export`)."""

from cgan.cli.export import main

if __name__ == "__main__":
    main()
