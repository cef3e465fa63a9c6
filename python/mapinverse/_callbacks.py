"""Callbacks written in Python: called after every outer step of a solve with an
IterationSummary; return None (or CallbackResult.CONTINUE) to go on, CallbackResult.STOP
to stop with the current estimate."""

import sys


def print_progress(every=1, file=None):
    """Prints one line every `every` steps (and at the last): step, t, residual, calls."""

    def callback(s):
        if s.step % every == 0 or s.step == s.total_steps:
            print(
                f"step {s.step:>4}/{s.total_steps:<4} t = {s.time:<9.4g} "
                f"residual = {s.residual_norm:<10.4g} NFE = {s.network_forwards}+"
                f"{s.network_vjps} ({s.elapsed_time_in_seconds:.1f} s)",
                file=file or sys.stdout,
            )

    return callback
