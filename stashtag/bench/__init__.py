"""`stashtag bench`: throughput of the tagging pipeline against baselines, measured in one run.

Variants run interleaved and repeated on the same frames; the report gives medians with their
spread and ratios within the run (never absolute timings across machines).
"""

from stashtag.bench.report import BenchReport, compare, to_markdown, write_report
from stashtag.bench.run import run_bench
from stashtag.bench.tuning import tune

__all__ = ["BenchReport", "compare", "run_bench", "to_markdown", "tune", "write_report"]
