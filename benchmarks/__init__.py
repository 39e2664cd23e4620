"""Developer benchmarks and the scripts that draw the docs' figures, outside the installed package: they use
the library, nothing in it imports them. Run them from the clone's root:

    python -m benchmarks.bench            training speed against a hand-written loop of the same math (plain_loop.py)
    python -m benchmarks.profile_step     where a training step's time goes, op by op and layer by layer
    python -m benchmarks.reference_machine  the reference-machine table: peaks and each preset's images/s
    python -m benchmarks.sweep_bench      a sweep under each Hydra launcher, timed
    python -m benchmarks.app_bench        milliseconds per picture of each view of cgan-app
    python -m benchmarks.budget_curve     the budget-curve figure of docs/results.md
    python -m benchmarks.same_numbers     fingerprints of seeded runs' weights: a refactor changes no number
    python -m benchmarks.score_steps      quality against images seen: cgan-evaluate on each step checkpoint of a run
    python -m benchmarks.first_hour       README's quickstart in a fresh clone and venv, then its tests
    bash benchmarks/<name>.sh             the probes and figures of the docs (each says how in its header)
"""
