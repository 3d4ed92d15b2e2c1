"""How fast the explorers answer and how much they weigh: ``python -m bench.widgets``.

For every explorer of ``convnb.widgets`` at its default arguments: the time to make it (every
precomputed frame), the time one change of each live control takes to recompute every frame (the
live mode's budget is 50 ms), and the size of its saved widget state (what a book page carries).
Each explorer is measured in a fresh process, since the saved state holds every widget alive.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import convnb.widgets

REPEATS = 5


def _other_value(control):
    """A value for ``control`` other than its current one (and the way back)."""
    value = control.value
    if hasattr(control, "options") and control.options:
        labels = list(getattr(control, "_options_values", None) or control.options)
        index = control.index if control.index is not None else 0
        return labels[(index + 1) % len(labels)]
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):  # a text box: the same text with a space, still recomputed
        return value + " "
    if isinstance(value, int | float):
        top = getattr(control, "max", None)
        step = getattr(control, "step", 1) or 1
        return value - step if top is not None and value + step > top else value + step
    raise TypeError(f"no other value for {type(control).__name__}")


def measure(name: str) -> dict:
    from ipywidgets.embed import embed_data

    start = time.perf_counter()
    explorer = getattr(convnb.widgets, name)()
    made = time.perf_counter() - start
    size = len(json.dumps(embed_data(views=[explorer])["manager_state"]))
    updates = {}
    for key, control in explorer.live.items():
        original, other = control.value, _other_value(control)
        times = []
        for _ in range(REPEATS):
            for value in (other, original):
                start = time.perf_counter()
                control.value = value
                times.append(time.perf_counter() - start)
        updates[key] = statistics.median(times)
    return {"name": name, "make_s": made, "state_bytes": size, "frames": len(explorer.frames),
            "updates_s": updates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    print("| explorer | frames | made in | saved state | slowest live update (control) |")
    print("|---|---|---|---|---|")
    for name in convnb.widgets.__all__:
        out = subprocess.run([sys.executable, "-m", "bench.widgets", "--one", name],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        if r["updates_s"]:
            key = max(r["updates_s"], key=r["updates_s"].get)
            slowest = f"{r['updates_s'][key] * 1000:.0f} ms ({key})"
        else:
            slowest = "no live control"
        print(f"| `{name}()` | {r['frames']} | {r['make_s']:.2f} s | "
              f"{r['state_bytes'] / 1000:.0f} KB | {slowest} |", flush=True)


if __name__ == "__main__":
    main()
