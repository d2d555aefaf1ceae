"""edgemed benchmarks: each ``bench_*.py`` measures against a reference taken in the same run."""
