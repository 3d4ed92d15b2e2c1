"""How fast the explorers answer and how much they weigh: ``python -m bench.widgets``.

For every explorer of ``convnb.widgets`` at its default arguments: the time to make it (every
precomputed frame), the time a change of a live control takes to recompute every frame (a few
values per control, each set once; the live mode's budget is 50 ms), and the size of its saved
widget state (what a book page carries).
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

VALUES = 6  # distinct values tried per live control


def _values(control) -> list:
    """Up to VALUES values for ``control`` other than its current one, each set once: every
    change is a first visit (an explorer may cache what it drew for a value it has seen)."""
    value = control.value
    if hasattr(control, "options") and control.options:
        labels = list(getattr(control, "_options_values", None) or control.options)
        index = control.index if control.index is not None else 0
        return [labels[(index + k) % len(labels)] for k in range(1, min(len(labels), VALUES))]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, str):  # a text box: the same text with more spaces, still recomputed
        return [value + " " * k for k in range(1, VALUES)]
    if isinstance(value, int | float):
        low, high = getattr(control, "min", None), getattr(control, "max", None)
        step = getattr(control, "step", 1) or 1
        count = None if low is None or high is None else int(round((high - low) / step)) + 1
        if count is None or count > 50:  # a seed box, say: the next few values
            return [value + k * step for k in range(1, VALUES)
                    if high is None or value + k * step <= high]
        span = [low + k * step for k in range(count)]
        others = [v for v in span if v != value]
        stride = max(1, len(others) // (VALUES - 1))
        return others[::stride][:VALUES - 1]
    raise TypeError(f"no other value for {type(control).__name__}")


def measure(name: str) -> dict:
    from ipywidgets.embed import embed_data

    start = time.perf_counter()
    explorer = getattr(convnb.widgets, name)()
    made = time.perf_counter() - start
    size = len(json.dumps(embed_data(views=[explorer])["manager_state"]))
    updates = {}
    for key, control in explorer.live.items():
        original, times = control.value, []
        for value in _values(control):
            start = time.perf_counter()
            control.value = value
            times.append(time.perf_counter() - start)
        control.value = original
        updates[key] = (statistics.median(times), max(times))
    return {"name": name, "make_s": made, "state_bytes": size, "frames": len(explorer.frames),
            "updates_s": updates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    print("| explorer | frames | made in | saved state | live update: median, slowest (control) |")
    print("|---|---|---|---|---|")
    for name in convnb.widgets.__all__:
        out = subprocess.run([sys.executable, "-m", "bench.widgets", "--one", name],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        if r["updates_s"]:
            key = max(r["updates_s"], key=lambda k: r["updates_s"][k][1])
            median = statistics.median(m for m, _ in r["updates_s"].values())
            slowest = f"{median * 1000:.0f} ms, {r['updates_s'][key][1] * 1000:.0f} ms ({key})"
        else:
            slowest = "no live control"
        print(f"| `{name}()` | {r['frames']} | {r['make_s']:.2f} s | "
              f"{r['state_bytes'] / 1000:.0f} KB | {slowest} |", flush=True)


if __name__ == "__main__":
    main()
