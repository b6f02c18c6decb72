"""``mrl-tutorial``: the tutorial's command line.

- ``mrl-tutorial report --out DIR`` trains or loads the tutorial's models, prints the every-dimension table
  and the funnel table, and writes the README's two figures (see :mod:`mrl_tutorial.report`).
- ``mrl-tutorial adapt`` fits a label-free Matryoshka adaptor (:mod:`mrl_tutorial.adaptor`) on any frozen model
  from the user's texts and saves an ordinary sentence-transformers model folder.
- ``mrl-tutorial train`` runs :func:`mrl_tutorial.training.train`: by default the tutorial's recipe on the
  user's texts (``--texts``, scored by the model itself), ``--triplets`` for labelled triplets, at any scale,
  e.g. the blog's setting on a GPU with ``--full-finetune`` (also under ``accelerate launch -m mrl_tutorial.cli
  train ...`` or ``torchrun``, which the sentence-transformers trainer supports).
"""

from __future__ import annotations

import argparse
import math
import sys

__all__ = ["main", "parse_dims"]


def parse_dims(dims: list[str]) -> tuple[int, ...]:
    """CLI helper: ``["768", "512"]`` → ``(768, 512)`` with a clear error for non-integers.

    Examples:
        >>> parse_dims(["64", "32"])
        (64, 32)
        >>> parse_dims("64")
        Traceback (most recent call last):
        ...
        TypeError: dims must be a list like ['64', '32'], got the single string '64'
    """
    if isinstance(dims, str):  # "64" would otherwise be read as the dims 6 and 4
        raise TypeError(f"dims must be a list like ['64', '32'], got the single string {dims!r}")
    from mrl_tutorial._checks import check_sequence

    values = check_sequence("dims", dims, of="strings like '64'")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise TypeError(f"dims must be strings or ints like '64', got {v!r} in {values}")
    try:
        parsed = tuple(int(v) for v in values)
    except ValueError:
        raise ValueError(f"dims must be integers, got {values}") from None
    if not parsed or min(parsed) < 1:
        raise ValueError(f"dims must be one or more positive integers, got {values}")
    return parsed


def _check_texts_file(texts: str | None) -> None:
    """``--texts``: a file that exists (read later, after the other checks)."""
    from mrl_tutorial._checks import check_path

    if texts is not None and not check_path("--texts", texts).is_file():
        raise FileNotFoundError(f"--texts {texts!r} is not a file")


def _parse_weights(values: list[str]) -> tuple[float, ...]:
    try:
        weights = tuple(float(w) for w in values)
    except ValueError:
        raise ValueError(f"--weights must be numbers, got {values}") from None
    if not all(math.isfinite(w) and w > 0 for w in weights):
        raise ValueError(f"--weights must be finite numbers > 0, got {values}")
    return weights


def _train(args: argparse.Namespace) -> int:
    from mrl_tutorial._checks import check_output_dir

    # before any data is read, and before torch and sentence-transformers are imported (seconds)
    check_output_dir(args.output, overwrite=args.overwrite, name="--output", hint="add --overwrite to replace it")
    if args.texts and (args.data or args.triplets):
        raise ValueError(f"--texts {args.texts!r} are paired and scored by the model itself; it cannot be combined "
                         "with --data or --triplets (labelled training data)")
    if args.max_rows is not None and args.max_rows < 1:  # 0 would read as "all rows"
        raise ValueError(f"--max-rows must be a positive number of rows, got {args.max_rows}")
    if args.standard:
        given = [flag for flag, value in (("--dims", args.dims), ("--weights", args.weights),
                                          ("--n-dims-per-step", args.n_dims_per_step != -1)) if value]
        if given:
            raise ValueError(f"{' and '.join(given)} apply only to Matryoshka training; --standard trains without "
                             "MatryoshkaLoss: drop one or the other")
    dims = parse_dims(args.dims) if args.dims else None
    weights = _parse_weights(args.weights) if args.weights else None
    _check_texts_file(args.texts)
    from mrl_tutorial.config import quiet
    from mrl_tutorial.training import TRIPLET_RECIPE, TUTORIAL_RECIPE, _check_recipe_dims, train

    base = TRIPLET_RECIPE if args.triplets else TUTORIAL_RECIPE
    changes = {"matryoshka": not args.standard, "n_dims_per_step": args.n_dims_per_step}
    if args.full_finetune:
        # a whole encoder moves at a far smaller step than a head: the blog's 2e-5 unless --lr says otherwise
        changes.update(freeze_encoder=False, orthogonal=False, lr=2e-5)
    elif args.free_head:
        changes["orthogonal"] = False
    for name in ("loss", "epochs", "lr", "batch_size", "seed"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if dims:
        changes["matryoshka_dims"] = dims
    if weights:
        changes["matryoshka_weights"] = weights
    try:
        recipe = base.replace(**changes)  # checked here, before a model is loaded
        _check_recipe_dims(recipe, None)  # what does not need the model's dim
    except ValueError as error:
        if "matryoshka_dims" in str(error) or "matryoshka_weights" in str(error):
            raise ValueError(f"--dims / --weights: {error}") from None
        raise
    quiet(progress_bars=not args.quiet)
    data, model = _training_data(args, recipe)
    print(f"training a {'Matryoshka' if recipe.matryoshka else 'standard'} model on {data.num_rows} rows: "
          f"{recipe.summary()}")
    train(model, data, recipe, output_dir=args.output, overwrite=args.overwrite, device=args.device,
          progress=not args.quiet)
    print(f"saved to {args.output}")
    return 0


def _training_data(args: argparse.Namespace, recipe):
    """The rows to train on, and the model (loaded once if the texts need scoring by it, else its name)."""
    from mrl_tutorial.data import load_pairs, load_sts

    if args.data is None and recipe.loss != "mnrl":  # no labels: the model scores pairs of the texts
        from mrl_tutorial.adaptor import bundled_texts, read_texts
        from mrl_tutorial.models import load_model
        from mrl_tutorial.training import teacher_pairs

        texts = read_texts(args.texts) if args.texts else bundled_texts()
        model = load_model(args.model, device=args.device)
        print(f"pairing {len(set(texts))} distinct texts, scored by the starting model's own cosines")
        data = teacher_pairs(model, texts, seed=recipe.seed)
    else:
        model = args.model
        source = "bundled" if args.data is None else args.data
        if recipe.loss == "mnrl":
            data = load_pairs(source, split=args.split, config=args.config)
        else:
            data = load_sts(source, split=args.split, config=args.config)
    if args.max_rows:
        data = data.select(range(min(args.max_rows, data.num_rows)))
    return data, model


def _adapt(args: argparse.Namespace) -> int:
    from mrl_tutorial._checks import check_output_dir

    # before a file is read or a model loaded, and before torch and sentence-transformers are imported
    check_output_dir(args.output, name="--output", hint="choose a new folder")
    dims = parse_dims(args.dims) if args.dims else None
    _check_texts_file(args.texts)
    from mrl_tutorial.adaptor import TUTORIAL_ADAPTOR, adapt, bundled_texts, read_texts
    from mrl_tutorial.config import quiet

    quiet(progress_bars=not args.quiet)
    fields = ("kind", "init", "max_iter", "batch_size", "regularization", "k", "seed")
    changes = {name: getattr(args, name) for name in fields if getattr(args, name) is not None}
    if dims:
        changes["matryoshka_dims"] = dims
    recipe = TUTORIAL_ADAPTOR.replace(**changes)
    texts = read_texts(args.texts) if args.texts else bundled_texts()
    print(f"fitting an adaptor on {len(set(texts))} distinct texts: {recipe.summary()}")
    adapt(args.model, texts, recipe, output_dir=args.output, device=args.device, progress=not args.quiet)
    print(f"saved to {args.output}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from mrl_tutorial._checks import check_int
    from mrl_tutorial.report import _figure_paths

    # before torch is imported and any model is loaded
    _figure_paths(args.out, name="--out")
    for flag, value in (("--max-queries", args.max_queries), ("--max-corpus", args.max_corpus)):
        if value is not None:
            check_int(flag, value, low=1)
    check_int("--shortlist", args.shortlist, low=10)
    from mrl_tutorial.config import quiet, set_seed
    from mrl_tutorial.report import run_report

    quiet(progress_bars=not args.quiet)
    set_seed()
    run_report(args.out, max_queries=args.max_queries, max_corpus=args.max_corpus, shortlist=args.shortlist)
    return 0


def main(argv: list[str] | None = None) -> int:
    if argv is not None and (isinstance(argv, (str, bytes)) or not isinstance(argv, (list, tuple))
                             or not all(isinstance(a, str) for a in argv)):
        raise TypeError(f"argv must be a list of strings (or None for the command line), got "
                        f"{type(argv).__name__} {argv!r}"[:300])
    parser = argparse.ArgumentParser(prog="mrl-tutorial", description="Matryoshka embeddings tutorial tools")
    commands = parser.add_subparsers(dest="command", required=True)

    t = commands.add_parser("train", help="train a Matryoshka (or standard) embedding model")
    t.add_argument("--model", default=None, help="hub id or local folder (default: packaged all-MiniLM-L6-v2)")
    t.add_argument("--texts", default=None,
                   help="your texts, paired and scored by the model itself (no labels): a .txt file (one text a "
                        "line) or a CSV/TSV/JSONL file with a 'text' column (default: the bundled texts)")
    t.add_argument("--triplets", action="store_true",
                   help="the earlier recipe: MNRL on labelled (anchor, positive, negative) triplets from --data")
    t.add_argument("--data", default=None,
                   help="labelled data instead of --texts: 'bundled', a hub id, or a local file (triplets for "
                        "mnrl, scored pairs for cosine/cosent)")
    t.add_argument("--config", default=None, help="hub dataset configuration (e.g. 'triplet' for all-nli)")
    t.add_argument("--split", default="train")
    t.add_argument("--max-rows", type=int, default=None, help="use only the first N rows")
    t.add_argument("--loss", choices=["cosine", "cosent", "mnrl"], default=None,
                   help="base loss inside MatryoshkaLoss (default: cosine; mnrl with --triplets)")
    t.add_argument("--standard", action="store_true", help="train without MatryoshkaLoss (the baseline)")
    t.add_argument("--dims", nargs="+", default=None, help="Matryoshka dims, in any order (default: halving)")
    t.add_argument("--weights", nargs="+", default=None, help="one weight per dim (default: all 1)")
    t.add_argument("--n-dims-per-step", type=int, default=-1)
    t.add_argument("--free-head", action="store_true",
                   help="train a free linear head instead of a rotation (the default with --triplets)")
    t.add_argument("--full-finetune", action="store_true",
                   help="train the whole encoder, for a GPU (default: frozen encoder + head)")
    t.add_argument("--epochs", type=float, default=None, help="default: the recipe's (1)")
    t.add_argument("--lr", type=float, default=None,
                   help="default: the recipe's (3e-3 for a head; 2e-5 with --full-finetune)")
    t.add_argument("--batch-size", type=int, default=None, help="default: the recipe's (64)")
    t.add_argument("--seed", type=int, default=None, help="default: the recipe's (12)")
    t.add_argument("--device", default=None, help="cpu, cuda, cuda:N, mps (default: a GPU if there is one)")
    t.add_argument("--output", required=True, help="folder to save the model to (must not exist)")
    t.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    t.add_argument("--quiet", action="store_true", help="no progress bars")

    a = commands.add_parser("adapt", help="fit a label-free Matryoshka adaptor on a frozen model")
    a.add_argument("--model", default=None, help="hub id or local folder (default: packaged all-MiniLM-L6-v2)")
    a.add_argument("--texts", default=None,
                   help="a .txt file (one text a line) or a CSV/TSV/JSONL file with a 'text' column "
                        "(default: the bundled texts)")
    a.add_argument("--output", required=True, help="folder to save the adapted model to (must not exist)")
    a.add_argument("--kind", choices=["orthogonal", "residual"], default=None, help="default: orthogonal")
    a.add_argument("--init", choices=["pca", "identity"], default=None, help="start map (default: pca)")
    a.add_argument("--dims", nargs="+", default=None, help="Matryoshka dims, in any order (default: halving)")
    a.add_argument("--max-iter", type=int, default=None,
                   help="most L-BFGS iterations; the fit stops earlier once converged (default: the tutorial recipe's)")
    a.add_argument("--batch-size", type=int, default=None)
    a.add_argument("--regularization", type=float, default=None, help="pull towards the start map")
    a.add_argument("--k", type=int, default=None, help="nearest neighbours in the top-k term")
    a.add_argument("--seed", type=int, default=None)
    a.add_argument("--device", default=None, help="where the encoder runs (default: a GPU if there is one)")
    a.add_argument("--quiet", action="store_true", help="no progress bars")

    r = commands.add_parser("report", help="print the headline tables and write the README figures")
    r.add_argument("--out", required=True, help="folder for the PNG figures")
    r.add_argument("--max-queries", type=int, default=None, help="use only the first N queries (quick run)")
    r.add_argument("--max-corpus", type=int, default=None, help="use only the first N passages (quick run)")
    r.add_argument("--shortlist", type=int, default=100, help="candidates kept by each funnel's first stage")
    r.add_argument("--quiet", action="store_true", help="no progress bars")

    args = parser.parse_args(argv)
    try:
        return {"report": _report, "adapt": _adapt, "train": _train}[args.command](args)
    except (ValueError, TypeError, FileNotFoundError) as error:  # bad input: the message, not a traceback
        print(f"mrl-tutorial {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
