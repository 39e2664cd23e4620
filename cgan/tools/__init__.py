"""Developer tools on top of everything: they use the library, nothing imports them.

    bench.py        cgan-bench: training speed, the framework against a plain PyTorch loop of the same nets
    quality.py      cgan-quality: quality against images seen, for comparing presets on equal budgets
    sweep_bench.py  cgan-sweep-bench: a sweep under each Hydra launcher, timed
    app_bench.py    cgan-app-bench: milliseconds per picture of each view of cgan-app
"""
