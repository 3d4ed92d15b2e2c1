"""``python -m convnb train``: train a model from the command line.

Progress goes to stderr; the last line on stdout is one JSON object with ``test_accuracy`` (a
fraction, on the held-out 20%), ``train_seconds``, ``params`` and the settings used::

    python -m convnb train --model lenet5 --dataset digits --epochs 15 --seed 0
"""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Sequence

from .data import DATASETS
from .train import MODELS, OPTIMIZERS, SCHEDULES, run


def parser() -> argparse.ArgumentParser:
    d = {name: p.default for name, p in inspect.signature(run).parameters.items()}
    main = argparse.ArgumentParser(prog="python -m convnb", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model and print a JSON report",
                                description="Train a model on a dataset's 80%, test it on the "
                                            "held-out 20%, print one JSON line.")
    train.add_argument("--model", choices=MODELS, default=d["model"])
    train.add_argument("--dataset", choices=DATASETS, default=d["dataset"],
                       help="mnist falls back to digits, with a warning, when it is unavailable")
    train.add_argument("--epochs", type=int, default=d["epochs"])
    train.add_argument("--seed", type=int, default=d["seed"])
    train.add_argument("--batch-size", type=int, default=d["batch_size"])
    train.add_argument("--lr", type=float, default=d["lr"])
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=d["optimizer"])
    train.add_argument("--lr-schedule", choices=SCHEDULES, default=d["lr_schedule"])
    train.add_argument("--shift", type=int, default=d["shift"],
                       help="move training images by up to this many pixels (default: 2 for "
                            "lenet5, 0 for mlp)")
    train.add_argument("--device", choices=("cpu", "gpu"), default=d["device"])
    train.add_argument("--save", metavar="PATH", default=None,
                       help="save the trained weights to PATH (.npz)")
    train.add_argument("--threads", type=int, default=d["threads"],
                       help="BLAS threads for NumPy's matrix products (default: %(default)s)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    report = run(model=args.model, dataset=args.dataset, epochs=args.epochs, seed=args.seed,
                 batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                 lr_schedule=args.lr_schedule, shift=args.shift, device=args.device,
                 save=args.save, progress=not args.no_progress, threads=args.threads)
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
