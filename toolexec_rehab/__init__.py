"""toolexec-rehab: find and fix Go resource leaks at build time."""
__version__ = "0.1.0"


def short_lived_gc():
    """A process that analyzes and exits (a command, a compile, a server's request): what is
    imported by now stays (frozen: never scanned again), and the young generation is
    collected every 100,000 allocations instead of 700 (an analysis makes many short-lived
    objects and few cycles; ~3% of `check` on cobra)."""
    import gc

    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
