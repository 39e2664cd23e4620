"""Developer tools on top of everything: they use the library, nothing imports them.

    bench.py        cgan-bench: training speed, the framework against a hand-written loop of the same math,
                    where a batch goes, and the share of the CPU's or GPU's measured peak
    plain_loop.py   that hand-written loop (and the per-phase clock of the breakdown)
    quality.py      cgan-quality: quality against images seen, for comparing presets on equal budgets
    sweep_bench.py  cgan-sweep-bench: a sweep under each Hydra launcher, timed
    app_bench.py    cgan-app-bench: milliseconds per picture of each view of cgan-app
    crosscheck.py   cgan-crosscheck: an independent classifier that scores checkpoints in its own features
    wide_photos.py  the crop / pad / stretch figure of docs/data.md
"""
