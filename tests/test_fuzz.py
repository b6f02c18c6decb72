"""The fuzz table, generated from the package's public names: every public function, class and method of every
``mrl_tutorial`` module (its ``__all__``) and every CLI command has a row in ``SPECS`` — a new public name without
one fails :func:`test_every_public_name_and_command_is_in_the_table`.

Each argument gets the bad values of its kind (an int, a number, a flag, a matrix, a tensor, a list of dims, texts,
an input or output path, a device, a model, a recipe, ...), generated from :data:`BAD`. Every call must end in one
of two ways:

- this package's ``ValueError``, ``TypeError`` or ``FileNotFoundError``, whose message names the argument on word
  boundaries (``k``, not the ``k`` inside ``block``);
- or, for the edge values of :data:`EDGE` that a helper may accept (1e±30 in float32 and float64, float16, int
  and float64 arrays, a generator for a list, a tuple, a requires-grad tensor), a result equal to the result of
  the same call on the ordinary input, whose own values the reference tests check against float64 NumPy
  (``tests/test_numeric_edges.py`` and each module's tests). An accepted edge value whose result holds a NaN or
  an infinity fails.

``python tests/test_fuzz.py`` prints the table's size and its outcome counts.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import math
import pkgutil
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import mrl_tutorial

# ---------------------------------------------------------------- ordinary inputs (values exact in float16 and int)
RNG = np.random.default_rng(0)
DOCS = (RNG.integers(-16, 17, size=(40, 16)) / 8).astype(np.float32)
DOCS[np.abs(DOCS).sum(axis=1) == 0, 0] = 1.0
QUERIES = (DOCS[:5] + np.float32(0.125)).astype(np.float32)
ROWS = torch.from_numpy(DOCS[:32].copy())
SCORES = [float(i % 7) for i in range(40)]
TEXTS = ["a ferry leaves at nine", "tea is brewed in a pot", "the train is late", "a cat sleeps on the mat",
         "rain falls on the city", "the market opens early"]


class Patch(dict):
    """A bad value that is a combination of arguments (e.g. dims given with ``matryoshka=False``)."""


class Context:
    """What a row's call needs: fixtures fetched lazily (a model only for the rows that use one) and a scratch
    folder with a file, a link and a broken model folder."""

    def __init__(self, request, tmp_path: Path):
        self.request, self.tmp = request, tmp_path
        self.file = tmp_path / "a-file.txt"
        self.file.write_text("not a folder\n")
        self.link = tmp_path / "a-link"
        self.link.symlink_to(tmp_path, target_is_directory=True)

    @property
    def model(self):
        return self.request.getfixturevalue("tiny_model")

    @property
    def model_path(self) -> str:
        return str(self.request.getfixturevalue("tiny_model_path"))

    def index(self):
        from mrl_tutorial.retrieval import FunnelIndex

        return FunnelIndex(DOCS)

    def reference(self):
        return self.index().search(QUERIES, [(16, 10)])[0]

    def sts_csv(self) -> Path:
        path = self.tmp / "sts.csv"
        rows = [f"{a},{b},{s}" for a, b, s in zip(TEXTS, TEXTS[1:] + TEXTS[:1], range(6), strict=True)]
        path.write_text("sentence1,sentence2,score\n" + "\n".join(rows) + "\n")
        return path

    def texts_file(self) -> Path:
        path = self.tmp / "texts.txt"
        path.write_text("\n".join(TEXTS) + "\n")
        return path


# ---------------------------------------------------------------- bad values by kind; each a (label, value-maker)
def _m(a):
    return lambda ctx: a


MATRIX_BAD = [
    ("1-D", _m(np.ones(16, dtype=np.float32))), ("3-D", _m(np.ones((2, 2, 16), dtype=np.float32))),
    ("no rows", _m(np.ones((0, 16), dtype=np.float32))),
    ("a NaN", _m(np.where(np.eye(5, 16) > 0, np.nan, 1.0).astype(np.float32))),
    ("an inf", _m(np.where(np.eye(5, 16) > 0, np.inf, 1.0).astype(np.float32))),
    ("beyond float32", _m(DOCS[:5].astype(np.float64) * 1e300)),
    ("strings", _m(np.array([["a"] * 16] * 5))), ("a bare string", _m("embeddings")), ("None", _m(None)),
    ("booleans", _m(np.ones((5, 16), dtype=bool))), ("complex", _m(DOCS[:5] * (1 + 1j))),
    ("a ragged list", _m([[1.0, 2.0], [1.0]])), ("a scalar", _m(5.0)), ("a dict", _m({"a": 1})),
]
# accepted if the result equals the ordinary input's (every such helper is scale-invariant), or refused by name
MATRIX_EDGE = [
    # powers of two (2**100 = 1.3e30): the scaled values are exact, so ties of the ordinary input stay ties
    ("1e30 float32", lambda a: (a * np.float32(2.0 ** 100)).astype(np.float32)),
    ("1e-30 float32", lambda a: (a * np.float32(2.0 ** -100)).astype(np.float32)),
    ("1e30 float64", lambda a: a.astype(np.float64) * 2.0 ** 100),
    ("1e-30 float64", lambda a: a.astype(np.float64) * 2.0 ** -100),
    ("float16", lambda a: a.astype(np.float16)), ("float64", lambda a: a.astype(np.float64)),
    ("ints", lambda a: (a * 8).astype(np.int64)), ("a tensor", lambda a: torch.from_numpy(np.array(a))),
    ("a list of lists", lambda a: np.asarray(a).tolist()),
]
TENSOR_BAD = [
    ("a NaN", _m(torch.full((8, 16), float("nan")))), ("an inf", _m(torch.full((8, 16), float("inf")))),
    ("1-D", _m(torch.ones(16))), ("no rows", _m(torch.ones(0, 16))), ("booleans", _m(torch.ones(8, 16, dtype=bool))),
    ("complex", _m(torch.ones(8, 16, dtype=torch.complex64))), ("a string", _m("rows")), ("a scalar", _m(5.0)),
]
TENSOR_EDGE = [
    ("1e30 float32", lambda t: t * 2.0 ** 100), ("1e-30 float32", lambda t: t * 2.0 ** -100),
    ("1e19 float32", lambda t: t * 2.0 ** 64), ("1e-19 float32", lambda t: t * 2.0 ** -64),
    ("float64", lambda t: t.double()), ("float16", lambda t: t.half()), ("bfloat16", lambda t: t.bfloat16()),
    ("ints", lambda t: (t * 8).long()), ("a NumPy array", lambda t: t.numpy()),
    ("requires grad", lambda t: t.clone().requires_grad_(True)),
]
NOT_AN_INT = [("a bool", _m(True)), ("a float", _m(2.5)), ("a string", _m("8")), ("a list", _m([8])),
              ("NaN", _m(math.nan)), ("negative", _m(-3))]
NOT_A_NUMBER = [("a bool", _m(True)), ("a string", _m("0.1")), ("NaN", _m(math.nan)), ("inf", _m(math.inf)),
                ("-inf", _m(-math.inf)), ("a list", _m([0.1]))]
NOT_A_FLAG = [("the string 'no'", _m("no")), ("the string 'yes'", _m("yes")), ("zero", _m(0)), ("one", _m(1)),
              ("an empty string", _m(""))]
BAD_DIMS = [("a scalar", _m(8)), ("a bare string", _m("64")), ("empty", _m([])), ("a zero", _m([16, 0])),
            ("too large", _m([10**6, 8])), ("a float", _m([16, 8.5])), ("a bool", _m([16, True])),
            ("a word", _m(["sixteen", 8])), ("a negative", _m([16, -8]))]
BAD_WEIGHTS = [("a scalar", _m(1.0)), ("a bare string", _m("1")), ("empty", _m([])), ("a NaN", _m([1.0, math.nan])),
               ("a zero", _m([1.0, 0.0])), ("a bool", _m([1.0, True])), ("too few", _m([1.0]))]
LIST_EDGE = [("a generator", lambda v: (x for x in v)), ("a tuple", lambda v: tuple(v))]
BAD_TEXTS = [("a bare string", _m("tea")), ("empty", _m([])), ("a None text", _m(["tea", None])),
             ("a blank text", _m(["tea", "  "])), ("an int", _m(5)), ("bytes", _m([b"tea"]))]
BAD_PATH_IN = [("empty", _m("")), ("an int", _m(5)), ("bytes", _m(b"data.csv")),
               ("missing", lambda ctx: str(ctx.tmp / "missing" / "data.csv"))]
BAD_PATH_OUT = [("empty", _m("")), ("blank", _m("  ")), ("an int", _m(5)), ("bytes", _m(b"out")),
                ("under a file", lambda ctx: str(ctx.file / "out")), ("a link", lambda ctx: str(ctx.link))]
BAD_DEVICE = [("tpu", _m("tpu")), ("cuda:7", _m("cuda:7")), ("empty", _m("")), ("an int", _m(5))] + (
    [] if torch.cuda.is_available() else [("cuda on a machine without one", _m("cuda"))])
BAD_OBJECT = [("an int", _m(5)), ("an object", _m(object())), ("a list", _m([1, 2]))]
BAD_MAPPING = [("an int", _m(5)), ("a list", _m([1, 2])), ("a string", _m("curves"))]
BAD_CHOICE = [("unknown", _m("no-such-choice")), ("an int", _m(5)), ("None", _m(None))]

BAD_IDS = [("a bare string", _m("q0")), ("an int", _m(5)), ("empty", _m([])), ("a None id", _m([None] * 5))]
BAD = {"ids": BAD_IDS, "weights": BAD_WEIGHTS, "matrix": MATRIX_BAD, "tensor": TENSOR_BAD,
       "int": NOT_AN_INT, "number": NOT_A_NUMBER, "flag": NOT_A_FLAG,
       "dims": BAD_DIMS, "texts": BAD_TEXTS, "path_in": BAD_PATH_IN, "path_out": BAD_PATH_OUT,
       "device": BAD_DEVICE, "object": BAD_OBJECT, "mapping": BAD_MAPPING, "choice": BAD_CHOICE}
EDGE = {"matrix": MATRIX_EDGE, "tensor": TENSOR_EDGE, "dims": LIST_EDGE, "texts": LIST_EDGE}

# the kind of an argument, from its name (a spec may override); flags are found from the annotation ``bool``
BY_NAME = {
    "matrix": {"embeddings", "embeddings1", "embeddings2", "query_embeddings", "corpus_embeddings", "matrix", "a",
               "b", "vectors", "queries", "similarity", "query_embedding", "calibration"},
    "tensor": {"anchor", "positive", "negative", "original", "adapted", "e", "x"},
    "dims": {"dims", "shortlist_dims", "matryoshka_dims"},
    "weights": {"weights", "matryoshka_weights"},
    "texts": {"texts"},
    "ids": {"query_ids", "corpus_ids"},
    "device": {"device"},
}


@dataclasses.dataclass
class Spec:
    """How to call one public name: ``call(ctx, **kwargs)`` with ``valid(ctx)`` as the ordinary arguments.

    ``kinds`` adds or overrides an argument's kind; ``extra`` adds bad values for one argument; ``skip`` names
    arguments that get no generated rows (free text such as a title), ``invariant`` whether the edge values of
    a matrix or tensor must give the ordinary input's result (False: only no NaN or infinity); ``allow`` names
    generated bad values that are valid for one argument (each with its reason at the spec)."""

    call: Callable
    valid: Callable[[Context], dict]
    kinds: dict[str, str] = dataclasses.field(default_factory=dict)
    extra: dict[str, list] = dataclasses.field(default_factory=dict)
    skip: tuple[str, ...] = ()
    invariant: bool = True
    edges: bool = True
    allow: dict[str, set[str]] = dataclasses.field(default_factory=dict)


def S(call, valid=lambda ctx: {}, **options) -> Spec:
    return Spec(call, valid, **options)


def _method(cls_path: str, make: Callable[[Context], object], name: str):
    return lambda ctx, **kw: getattr(make(ctx), name)(**kw)


def _imp(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(f"mrl_tutorial.{module}"), name)


def _fn(path: str):
    """``module.name`` as a call taking the context first."""
    return lambda ctx, **kw: _imp(path)(**kw)


def _explorer(ctx):
    from mrl_tutorial.explorer import DimensionExplorer

    return DimensionExplorer({"tiny": ctx.model}, TEXTS, k=2, dims=(8, 16, 48))


def _head():
    from mrl_tutorial.nested_loss import ProjectionHead

    return ProjectionHead(16)


def _adaptor():
    from mrl_tutorial.adaptor import MatryoshkaAdaptor

    return MatryoshkaAdaptor(16)


def _ann(ctx):
    from mrl_tutorial.retrieval import PrefixANN

    return PrefixANN(DOCS, dim=8)


def _codes(ctx):
    from mrl_tutorial.retrieval import Int8Codes

    return Int8Codes(DOCS)


def _pairs(ctx):
    from mrl_tutorial.data import load_sts

    return load_sts(ctx.sts_csv())


def _recipe(**changes):
    from mrl_tutorial.training import TUTORIAL_RECIPE

    return TUTORIAL_RECIPE.replace(**changes)


def _adaptor_recipe(**changes):
    from mrl_tutorial.adaptor import TUTORIAL_ADAPTOR

    return TUTORIAL_ADAPTOR.replace(**changes)


def _qrels():
    return {"q0": {"d1"}, "q1": {"d2", "d3"}, "q2": {"d0"}, "q3": {"d4"}, "q4": {"d5"}}


IDS = {"query_ids": [f"q{i}" for i in range(5)], "corpus_ids": [f"d{i}" for i in range(40)]}
STAGES = [("empty", _m([])), ("a bare pair", _m((8, 20))), ("a string", _m("8,20")),
          ("dims that fall", _m([(16, 20), (8, 5)])), ("keeps that grow", _m([(8, 5), (16, 20)])),
          ("a stage of three", _m([(8, 20, 1)])), ("a float dim", _m([(8.0, 20)])), ("a scalar", _m(8))]
DOCS_RANKS = (np.argsort(-DOCS @ DOCS[:5].T, axis=0)[:10].T).copy()

SPECS: dict[str, Spec] = {
    # ------------------------------------------------------------------ embeddings (notebook 01)
    "embeddings.encode": S(_fn("embeddings.encode"), lambda ctx: {"model": ctx.model, "texts": TEXTS},
                           kinds={"model": "object", "batch_size": "int"}, edges=False),
    "embeddings.encode_unique": S(_fn("embeddings.encode_unique"), lambda ctx: {"model": ctx.model, "texts": TEXTS},
                                  kinds={"model": "object"}, edges=False),
    "embeddings.fingerprint": S(_fn("embeddings.fingerprint"), lambda ctx: {"model": ctx.model},
                                kinds={"model": "object"}),
    "embeddings.modules_fingerprint": S(_fn("embeddings.modules_fingerprint"),
                                        lambda ctx: {"modules": list(ctx.model)}, kinds={"modules": "object"}),
    "embeddings.as_matrix": S(_fn("embeddings.as_matrix"), lambda ctx: {"embeddings": DOCS}, skip=("name",),
                              invariant=False),
    "embeddings.unit_rows": S(_fn("embeddings.unit_rows"), lambda ctx: {"matrix": DOCS}, skip=("name",),
                              kinds={"zero_rows": "choice"}),
    "embeddings.cosine_similarity": S(_fn("embeddings.cosine_similarity"), lambda ctx: {"a": QUERIES, "b": DOCS}),
    "embeddings.top_k": S(_fn("embeddings.top_k"), lambda ctx: {"scores": QUERIES @ DOCS.T, "k": 3},
                          kinds={"scores": "matrix"}, invariant=False,
                          allow={"scores": {"an inf", "beyond float32"}}),  # -inf masks; top-k only orders
    "embeddings.bytes_per_vector": S(_fn("embeddings.bytes_per_vector"), lambda ctx: {"dim": 8},
                                     kinds={"dtype": "choice"}),
    "embeddings.storage_table": S(_fn("embeddings.storage_table"), lambda ctx: {"n_vectors": 10, "dims": [16, 8]},
                                  allow={"dims": {"too large"}},  # a table for any dim: no model to bound it
                                  extra={"dtypes": [("a bare string", _m("float32")), ("unknown", _m(["int4"])),
                                                    ("empty", _m([]))]}),
    # ------------------------------------------------------------------ nested loss (notebook 02)
    "nested_loss.matryoshka_dims": S(_fn("nested_loss.matryoshka_dims"), lambda ctx: {"full_dim": 384}),
    "nested_loss.validate_dims": S(_fn("nested_loss.validate_dims"),
                                   lambda ctx: {"dims": [16, 8], "full_dim": 16, "name": "dims"}, skip=("name",)),
    "nested_loss.sort_dims": S(_fn("nested_loss.sort_dims"),
                               lambda ctx: {"dims": [8, 16], "weights": [1.0, 2.0], "full_dim": 16, "name": "dims",
                                            "weights_name": "weights"},
                               skip=("name", "weights_name"), kinds={"full_dim": "int"}),
    "nested_loss.recipe_dims": S(_fn("nested_loss.recipe_dims"),
                                 lambda ctx: {"matryoshka_dims": [16, 8], "matryoshka_weights": [1.0, 2.0]},
                                 # None: the model's halving / all 1; a large dim is checked against the model later
                                 allow={"matryoshka_dims": {"too large", "None"}, "matryoshka_weights": {"None"}}),
    "nested_loss.validate_weights": S(_fn("nested_loss.validate_weights"),
                                      lambda ctx: {"weights": [1.0, 0.5], "n_dims": 2, "name": "weights"},
                                      skip=("name",), extra={"weights": [("a string", _m([1, "2"]))]}),
    "nested_loss.multiple_negatives_ranking_loss": S(_fn("nested_loss.multiple_negatives_ranking_loss"),
                                                     lambda ctx: {"anchor": ROWS, "positive": ROWS.flip(0)},
                                                     kinds={"scale": "number"}),
    "nested_loss.matryoshka_loss": S(_fn("nested_loss.matryoshka_loss"),
                                     lambda ctx: {"embeddings": [ROWS, ROWS.flip(0)], "dims": [16, 8]},
                                     kinds={"embeddings": "object", "base_loss": "object"}),
    "nested_loss.ProjectionHead": S(_fn("nested_loss.ProjectionHead"), lambda ctx: {"dim": 16}),
    "nested_loss.ProjectionHead.forward": S(lambda ctx, **kw: _head()(**kw), lambda ctx: {"x": ROWS},
                                            invariant=False),
    "nested_loss.train_head": S(_fn("nested_loss.train_head"),
                                lambda ctx: {"anchor": ROWS, "positive": ROWS.flip(0), "matryoshka": True,
                                             "dims": [16, 8], "epochs": 1, "batch_size": 8},
                                extra={"lr": [("huge", _m(1e30))],
                                       "dims": [("dims without matryoshka",
                                                 _m(Patch(matryoshka=False, dims=[16, 8])))]}, edges=False),
    "nested_loss.coordinate_energy": S(_fn("nested_loss.coordinate_energy"), lambda ctx: {"embeddings": DOCS},
                                       invariant=False, extra={"embeddings": [
                                           ("constant rows", _m(np.ones((5, 16), dtype=np.float32)))]}),
    "nested_loss.block_quality": S(_fn("nested_loss.block_quality"),
                                   lambda ctx: {"embeddings1": DOCS, "embeddings2": DOCS[::-1].copy(),
                                                "scores": SCORES, "block": 4},
                                   extra={"scores": [("constant", _m([1.0] * 40)), ("a NaN", _m([math.nan] * 40))]}),
    # ------------------------------------------------------------------ training (notebook 03)
    "training.Recipe": S(_fn("training.Recipe"), lambda ctx: {},
                         kinds={"loss": "choice", "epochs": "number", "warmup_ratio": "number"},
                         # dims checked against the model's dim, weights counted against the default dims: in train()
                         allow={"matryoshka_dims": {"too large"}, "matryoshka_weights": {"too few"}},
                         extra={"lr": [("huge", _m(1e30))], "n_dims_per_step": [("-2", _m(-2))]}),
    "training.Recipe.replace": S(lambda ctx, **kw: _recipe(**kw), lambda ctx: {"lr": 0.01},
                                 kinds={"lr": "number"}),
    "training.Recipe.summary": S(lambda ctx: _recipe().summary()),
    "training.add_projection_head": S(_fn("training.add_projection_head"), lambda ctx: {"model": ctx.model},
                                      kinds={"model": "object"}),
    "training.default_data": S(_fn("training.default_data"), lambda ctx: {"recipe": _recipe(), "model": ctx.model},
                               kinds={"recipe": "object", "model": "object"}, edges=False),
    "training.teacher_pairs": S(_fn("training.teacher_pairs"),
                                lambda ctx: {"model": ctx.model, "texts": TEXTS, "n_random": 10, "n_neighbours": 2},
                                kinds={"model": "object"}, edges=False),
    "training.train": S(_fn("training.train"),
                        lambda ctx: {"model": ctx.model_path, "recipe": _recipe(batch_size=2),
                                     "output_dir": str(ctx.tmp / "trained")},
                        kinds={"model": "object", "recipe": "object", "train_dataset": "object",
                               "output_dir": "path_out", "encoder_cache": "object", "evaluator": "object",
                               "eval_log": "object"}, edges=False),
    "training.tutorial_models": S(_fn("training.tutorial_models"), lambda ctx: {},
                                  kinds={"recipe": "object", "train_dataset": "object", "model_name": "path_in"},
                                  edges=False),
    "training.save_model": S(_fn("training.save_model"),
                             lambda ctx: {"model": ctx.model, "output_dir": str(ctx.tmp / "saved")},
                             kinds={"model": "object", "output_dir": "path_out"}),
    "training.step_time": S(_fn("training.step_time"),
                            lambda ctx: {"model": ctx.model, "triplets": None, "dims": [48, 8], "steps": 1},
                            kinds={"model": "object", "triplets": "object"}, edges=False),
    # ------------------------------------------------------------------ adaptor (notebook 04)
    "adaptor.AdaptorRecipe": S(_fn("adaptor.AdaptorRecipe"), lambda ctx: {},
                               kinds={"kind": "choice", "init": "choice"},  # dims, weights: checked against the model
                               allow={"matryoshka_dims": {"too large"}, "matryoshka_weights": {"too few"}}),
    "adaptor.AdaptorRecipe.replace": S(lambda ctx, **kw: _adaptor_recipe(**kw), lambda ctx: {"k": 5},
                                       kinds={"k": "int"}),
    "adaptor.AdaptorRecipe.summary": S(lambda ctx: _adaptor_recipe().summary()),
    "adaptor.pairwise_loss": S(_fn("adaptor.pairwise_loss"),
                               lambda ctx: {"original": ROWS, "adapted": ROWS.flip(1), "dims": [16, 8]}),
    "adaptor.topk_loss": S(_fn("adaptor.topk_loss"),
                           lambda ctx: {"original": ROWS, "adapted": ROWS.flip(1), "dims": [16, 8], "k": 3}),
    "adaptor.reconstruction_loss": S(_fn("adaptor.reconstruction_loss"),
                                     lambda ctx: {"original": ROWS, "adapted": ROWS.flip(1)}, invariant=False),
    "adaptor.adaptor_loss": S(_fn("adaptor.adaptor_loss"),
                              lambda ctx: {"original": ROWS, "adapted": ROWS.flip(1),
                                           "recipe": _adaptor_recipe(k=3), "dims": [16, 8]},
                              kinds={"recipe": "object"}, invariant=False),
    "adaptor.MatryoshkaAdaptor": S(_fn("adaptor.MatryoshkaAdaptor"), lambda ctx: {"dim": 16},
                                   kinds={"kind": "choice", "start": "matrix"}, invariant=False),
    "adaptor.MatryoshkaAdaptor.penalty": S(lambda ctx: _adaptor().penalty()),
    "adaptor.MatryoshkaAdaptor.start_map": S(lambda ctx, **kw: _adaptor().start_map(**kw), lambda ctx: {"e": ROWS},
                                             invariant=False),
    "adaptor.MatryoshkaAdaptor.forward": S(lambda ctx, **kw: _adaptor()(**kw), lambda ctx: {"e": ROWS},
                                           invariant=False),
    "adaptor.MatryoshkaAdaptor.to_modules": S(lambda ctx: _adaptor().to_modules()),
    "adaptor.fit_adaptor": S(_fn("adaptor.fit_adaptor"),
                             lambda ctx: {"embeddings": DOCS,
                                          "recipe": _adaptor_recipe(k=3, max_iter=5, batch_size=16)},
                             kinds={"recipe": "object", "supervised": "object"}, edges=False),
    "adaptor.adapt": S(_fn("adaptor.adapt"),
                       lambda ctx: {"model": ctx.model, "texts": TEXTS,
                                    "recipe": _adaptor_recipe(k=2, max_iter=3, batch_size=4)},
                       kinds={"model": "object", "recipe": "object", "output_dir": "path_out",
                              "supervised": "object"}, edges=False),
    "adaptor.adapted_model": S(_fn("adaptor.adapted_model"),
                               lambda ctx: {"model": ctx.model, "adaptor": __import__(
                                   "mrl_tutorial.adaptor", fromlist=["x"]).MatryoshkaAdaptor(48)},
                               kinds={"model": "object", "adaptor": "object"}),
    "adaptor.read_texts": S(_fn("adaptor.read_texts"), lambda ctx: {"path": ctx.texts_file()},
                            kinds={"path": "path_in"}),
    "adaptor.tutorial_adaptor": S(_fn("adaptor.tutorial_adaptor"), lambda ctx: {},
                                  kinds={"recipe": "object", "model_name": "path_in"}, edges=False),
    "adaptor.bundled_texts": S(lambda ctx: _imp("adaptor.bundled_texts")()),
    # ------------------------------------------------------------------ truncation (notebook 05)
    "truncation.truncate": S(_fn("truncation.truncate"), lambda ctx: {"embeddings": DOCS, "dim": 8}),
    "truncation.resolve_dims": S(_fn("truncation.resolve_dims"), lambda ctx: {"dims": [16, 8], "full_dim": 16}),
    "truncation.sts_by_dim": S(_fn("truncation.sts_by_dim"),
                               lambda ctx: {"embeddings1": DOCS, "embeddings2": DOCS[::-1].copy(), "scores": SCORES,
                                            "dims": [16, 8]},
                               extra={"scores": [("too few", _m([1.0, 2.0])), ("a NaN", _m([math.nan] * 40)),
                                                 ("strings", _m(["1"] * 40)), ("a bare string", _m("scores")),
                                                 ("constant", _m([1.0] * 40)), ("a scalar", _m(1.0))]}),
    "truncation.sts_curve": S(_fn("truncation.sts_curve"),
                              lambda ctx: {"model": ctx.model, "pairs": _pairs(ctx), "dims": [48, 8]},
                              kinds={"model": "object", "pairs": "object", "transform": "object"}, edges=False),
    "truncation.retrieval_by_dim": S(_fn("truncation.retrieval_by_dim"),
                                     lambda ctx: {"query_embeddings": QUERIES, "corpus_embeddings": DOCS, **IDS,
                                                  "relevant_docs": _qrels(), "dims": [16, 8]},
                                     kinds={"relevant_docs": "mapping"}),
    "truncation.ranking_metrics": S(_fn("truncation.ranking_metrics"),
                                    lambda ctx: {**IDS, "relevant_docs": _qrels()},
                                    kinds={"relevant_docs": "mapping"},
                                    extra={"relevant_docs": [("an empty set", _m({**_qrels(), "q0": set()})),
                                                             ("an id not in the corpus",
                                                              _m({**_qrels(), "q0": {"nowhere"}}))],
                                           "corpus_ids": [("duplicates", _m(["d0"] * 40))]}),
    "truncation.PCARotation": S(lambda ctx: _imp("truncation.PCARotation")()),
    "truncation.PCARotation.fit": S(lambda ctx, **kw: _imp("truncation.PCARotation")().fit(**kw),
                                    lambda ctx: {"embeddings": DOCS}, invariant=False),
    "truncation.PCARotation.transform": S(lambda ctx, **kw: _imp("truncation.PCARotation")().fit(DOCS).transform(**kw),
                                          lambda ctx: {"embeddings": QUERIES}, invariant=False),
    # ------------------------------------------------------------------ retrieval (notebook 06)
    "retrieval.FunnelIndex": S(_fn("retrieval.FunnelIndex"), lambda ctx: {"corpus_embeddings": DOCS},
                               kinds={"backend": "choice"}, invariant=False),
    "retrieval.FunnelIndex.truncated": S(lambda ctx, **kw: ctx.index().truncated(**kw), lambda ctx: {"dim": 8}),
    "retrieval.FunnelIndex.nbytes": S(lambda ctx, **kw: ctx.index().nbytes(**kw), lambda ctx: {"dim": 8},
                                      kinds={"precision": "choice"}),
    "retrieval.FunnelIndex.check_stages": S(lambda ctx, **kw: ctx.index().check_stages(**kw),
                                            lambda ctx: {"stages": [(8, 20), (16, 5)]}, extra={"stages": STAGES}),
    "retrieval.FunnelIndex.search": S(lambda ctx, **kw: ctx.index().search(**kw),
                                      lambda ctx: {"query_embeddings": QUERIES, "stages": [(8, 20), (16, 5)]},
                                      extra={"stages": STAGES}),
    "retrieval.exact_search": S(_fn("retrieval.exact_search"),
                                lambda ctx: {"query_embeddings": QUERIES, "corpus_embeddings": DOCS, "k": 5},
                                kinds={"backend": "choice"}),
    "retrieval.shortlist_rerank": S(_fn("retrieval.shortlist_rerank"),
                                    lambda ctx: {"query_embeddings": QUERIES, "corpus_embeddings": DOCS,
                                                 "shortlist_dim": 8, "shortlist": 20, "k": 5},
                                    kinds={"backend": "choice"}),
    "retrieval.funnel_search": S(_fn("retrieval.funnel_search"),
                                 lambda ctx: {"query_embeddings": QUERIES, "corpus_embeddings": DOCS,
                                              "stages": [(8, 20), (16, 5)]},
                                 kinds={"backend": "choice"}, extra={"stages": STAGES}),
    "retrieval.agreement_at_k": S(_fn("retrieval.agreement_at_k"),
                                lambda ctx: {"found": DOCS_RANKS, "reference": DOCS_RANKS[:, ::-1].copy()},
                                extra={"found": [("1-D", _m(np.arange(5))), ("empty", _m(np.zeros((0, 10), int))),
                                                 ("other queries", _m(np.zeros((3, 10), dtype=int)))],
                                       "reference": [("empty", _m(np.zeros((5, 0), int)))]}),
    "retrieval.funnel_cost": S(_fn("retrieval.funnel_cost"), lambda ctx: {"stages": [(8, 5)], "n_corpus": 100},
                               extra={"stages": STAGES[:3]}),
    "retrieval.smallest_shortlist": S(_fn("retrieval.smallest_shortlist"),
                                      lambda ctx: {"index": ctx.index(), "query_embeddings": QUERIES,
                                                   "reference": ctx.reference(), "shortlist_dim": 8},
                                      kinds={"index": "object", "target": "number", "reference": "object"},
                                      extra={"target": [("above one", _m(1.5)), ("zero", _m(0.0))]}),
    "retrieval.agreement_grid": S(_fn("retrieval.agreement_grid"),
                               lambda ctx: {"index": ctx.index(), "query_embeddings": QUERIES,
                                            "reference": ctx.reference(), "shortlist_dims": [8],
                                            "shortlist_sizes": [10, 20]},
                               kinds={"index": "object", "reference": "object", "shortlist_sizes": "dims"}),
    "retrieval.Int8Codes": S(_fn("retrieval.Int8Codes"), lambda ctx: {"vectors": DOCS}, invariant=False),
    "retrieval.Int8Codes.encode": S(lambda ctx, **kw: _codes(ctx).encode(**kw), lambda ctx: {"vectors": QUERIES},
                                    invariant=False),
    "retrieval.Int8Codes.decode": S(lambda ctx, **kw: _codes(ctx).decode(**kw),
                                    lambda ctx: {"codes": _codes(ctx).encode(QUERIES)}, kinds={"codes": "matrix"},
                                    invariant=False, edges=False),
    "retrieval.Int8Codes.scores": S(lambda ctx, **kw: _codes(ctx).scores(**kw),
                                    lambda ctx: {"queries": QUERIES, "candidates": DOCS_RANKS},
                                    kinds={"candidates": "object"}, invariant=False),
    "retrieval.rerank_batch": S(_fn("retrieval.rerank_batch"),
                                lambda ctx: {"queries": QUERIES, "candidates": DOCS_RANKS,
                                             "score": lambda q, c: np.einsum("qd,qcd->qc", q, DOCS[c]), "keep": 3},
                                kinds={"candidates": "object", "score": "object", "keep": "int"}, edges=False),
    "retrieval.PrefixANN": S(_fn("retrieval.PrefixANN"), lambda ctx: {"corpus_embeddings": DOCS, "dim": 8},
                             kinds={"index": "choice", "rerank": "choice"}, invariant=False),
    "retrieval.PrefixANN.memory": S(lambda ctx: _ann(ctx).memory()),
    "retrieval.PrefixANN.search": S(lambda ctx, **kw: _ann(ctx).search(**kw),
                                    lambda ctx: {"query_embeddings": QUERIES, "candidates": 20, "k": 5}),
    "retrieval.compressed_search": S(_fn("retrieval.compressed_search"),
                                     lambda ctx: {"query_embeddings": QUERIES, "corpus_embeddings": DOCS, "dim": 8,
                                                  "k": 5}, kinds={"precision": "choice", "chunk": "int"}),
    "retrieval.storage_frontier": S(_fn("retrieval.storage_frontier"),
                                    lambda ctx: {"query_embeddings": QUERIES, "corpus_embeddings": DOCS,
                                                 "dims": [16, 8], "k": 5},
                                    kinds={"metric": "object"},
                                    extra={"precisions": [("a bare string", _m("int8")), ("unknown", _m(["int4"])),
                                                          ("empty", _m([]))]}),
    # ------------------------------------------------------------------ the evaluation layer (notebooks 05, 06)
    "evaluation.ModelSet": S(_fn("evaluation.ModelSet"),
                             lambda ctx: {"models": {}, "pca": None, "encoded": {"packaged": (QUERIES, DOCS)},
                                          "retrieval": None},
                             kinds={"encoded": "mapping"}, skip=("models", "pca", "retrieval")),
    "evaluation.ModelSet.ndcg_at_10": S(lambda ctx, **kw: _small_set(ctx).ndcg_at_10(**kw),
                                        lambda ctx: {"indices": np.zeros((385, 10), dtype=np.int64) + np.arange(10)},
                                        kinds={"indices": "object"}),
    "evaluation.ModelSet.sts_curves": S(lambda ctx, **kw: _small_set(ctx).sts_curves(**kw),
                                        lambda ctx: {"pairs": _pairs(ctx), "dims": [48, 8]},
                                        kinds={"pairs": "object"}, edges=False),
    "evaluation.ModelSet.ndcg_curves": S(lambda ctx, **kw: _small_set(ctx).ndcg_curves(**kw),
                                         lambda ctx: {"dims": [48, 8]}),
    "evaluation.ModelSet.full_search": S(lambda ctx, **kw: _small_set(ctx).full_search(**kw), lambda ctx: {"k": 10},
                                         kinds={"k": "int"}),
    "evaluation.ModelSet.from_models": S(lambda ctx, **kw: _imp("evaluation.ModelSet").from_models(**kw),
                                         lambda ctx: {"models": {"tiny": ctx.model},
                                                      "retrieval": _imp("data.load_retrieval")().head(5, 40)},
                                         kinds={"models": "mapping", "retrieval": "object"}, edges=False),
    "evaluation.model_set": S(_fn("evaluation.model_set"), lambda ctx: {"retrieval": 5},
                              kinds={"retrieval": "object", "model_name": "path_in"}, edges=False),
    "evaluation.retention": S(_fn("evaluation.retention"), lambda ctx: {"curve": {16: 0.8, 8: 0.6}, "dims": [8]},
                              kinds={"curve": "mapping"}),
    "evaluation.time_per_query": S(_fn("evaluation.time_per_query"),
                                   lambda ctx: {"search": lambda q: q @ DOCS.T, "query_embeddings": QUERIES,
                                                "repeats": 1},
                                   kinds={"search": "object", "batch": "int"}, invariant=False),
    "evaluation.ModelSet.agreement_grids": S(lambda ctx, **kw: _small_set(ctx).agreement_grids(**kw),
                                             lambda ctx: {"dims": [8], "sizes": [10, 20]},
                                             kinds={"sizes": "dims"}),
    "evaluation.ModelSet.funnel_ndcg": S(lambda ctx, **kw: _small_set(ctx).funnel_ndcg(**kw),
                                         lambda ctx: {"stages": [(8, 20), (48, 10)]}, extra={"stages": STAGES}),
    "evaluation.ModelSet.storage_frontiers": S(lambda ctx, **kw: _small_set(ctx).storage_frontiers(**kw),
                                               lambda ctx: {"dims": [16, 8]}),
    "evaluation.scan_table": S(_fn("evaluation.scan_table"),
                                  lambda ctx: {"query_embeddings": QUERIES, "corpus_embeddings": DOCS, "dims": [8],
                                               "repeats": 1}, invariant=False),
    "evaluation.grid_table": S(_fn("evaluation.grid_table"),
                               lambda ctx: {"grids": {"m": {(8, 10): 0.9, (8, 20): 1.0}}, "dims": [8],
                                            "sizes": [10, 20]},
                               kinds={"grids": "mapping", "sizes": "dims", "unit": "texts_one"},
                               allow={"dims": {"too large"}, "sizes": {"too large"}}),  # no model to bound them
    # a record cheapest_funnels returns (a user reads it, never builds it): no bad values of its own
    "evaluation.CheapestFunnels": S(_fn("evaluation.CheapestFunnels"), skip=("sizes", "cheapest", "full_cost",
                                                                             "target")),
    "evaluation.cheapest_funnels": S(lambda ctx, **kw: _imp("evaluation.cheapest_funnels")(**kw),
                                     lambda ctx: {"model_set": _small_set(ctx), "dims": [16, 32]},
                                     kinds={"model_set": "object", "target": "number"},
                                     extra={"target": [("above one", _m(1.5))]}),
    "evaluation.funnel_points": S(lambda ctx, **kw: _imp("evaluation.funnel_points")(**kw),
                                  lambda ctx: {"model_set": _small_set(ctx), "dims": [16]},
                                  kinds={"model_set": "object", "shortlist": "int"}, edges=False),
    "evaluation.points_table": S(_fn("evaluation.points_table"),
                                 lambda ctx: {"points": [{"model": "m", "dim": 8, "micros": 1.0, "cost": 10,
                                                          "agreement": 0.9}], "dims": [8]},
                                 kinds={"points": "object"}, allow={"dims": {"too large"}}),
    "evaluation.funnel_figure": S(_fn("evaluation.funnel_figure"),
                                  lambda ctx: {"points": [{"model": "m", "bytes": 64, "cost": 10, "agreement": 0.9}],
                                               "full_dim": 16}, kinds={"points": "object"}),
    "evaluation.shortlist_figure": S(_fn("evaluation.shortlist_figure"),
                                     lambda ctx: {"grid": {"m": {(8, 10): 0.9, (8, 20): 1.0}}, "dims": [8],
                                                  "sizes": [10, 20]},
                                     kinds={"grid": "mapping", "sizes": "dims"}),
    "evaluation.smallest_reaching": S(_fn("evaluation.smallest_reaching"),
                                      lambda ctx: {"search": lambda size: DOCS_RANKS, "reference": DOCS_RANKS},
                                      kinds={"search": "object", "reference": "object", "target": "number",
                                             "ladder": "dims"}, extra={"target": [("above one", _m(1.5))]},
                                      allow={"ladder": {"too large"}}),  # any candidate count may be tried
    "evaluation.prefix_graphs": S(lambda ctx, **kw: _imp("evaluation.prefix_graphs")(**kw),
                                  lambda ctx: {"model_set": _small_set(ctx), "dim": 8},
                                  kinds={"model_set": "object"}, edges=False),
    "evaluation.candidates_needed": S(lambda ctx, **kw: _imp("evaluation.candidates_needed")(**kw),
                                      lambda ctx: {"model_set": _small_set(ctx),
                                                   "graphs": _imp("evaluation.prefix_graphs")(_small_set(ctx), 8)},
                                      kinds={"model_set": "object", "graphs": "mapping", "target": "number"},
                                      extra={"target": [("above one", _m(1.5))]}, edges=False),
    "evaluation.candidates_table": S(_fn("evaluation.candidates_table"),
                                     lambda ctx: {"needed": {("m", "float32"): 50, ("m", "int8"): None}},
                                     kinds={"needed": "mapping"}),
    "evaluation.frontier_table": S(_fn("evaluation.frontier_table"),
                                   lambda ctx: {"frontiers": _frontiers(), "names": ["m"]},
                                   kinds={"frontiers": "mapping", "names": "texts", "min_bytes": "int"}),
    "evaluation.frontier_figure": S(_fn("evaluation.frontier_figure"), lambda ctx: {"frontiers": _frontiers()},
                                    kinds={"frontiers": "mapping"}),
    "evaluation.memory_table": S(_fn("evaluation.memory_table"),
                                 lambda ctx: {"memory": {"m": {"first stage": 10, "rerank": 5}}, "n_corpus": 5},
                                 kinds={"memory": "mapping"}),
    # ------------------------------------------------------------------ explorer
    # records the explorer returns (a user reads them, never builds them): no bad values of their own
    "explorer.Hit": S(_fn("explorer.Hit"), skip=("index", "score", "in_full_top_k")),
    "explorer.Comparison": S(_fn("explorer.Comparison"), skip=("dim", "at_dim", "full")),
    "explorer.compare_at_dim": S(_fn("explorer.compare_at_dim"),
                                 lambda ctx: {"query_embedding": QUERIES[0], "corpus": DOCS, "dim": 8},
                                 kinds={"corpus": "matrix", "query_embedding": "object"}),
    "explorer.DimensionExplorer": S(_fn("explorer.DimensionExplorer"),
                                    lambda ctx: {"models": {"tiny": ctx.model}, "corpus": TEXTS, "k": 2,
                                                 "dims": (8, 16, 48)},
                                    kinds={"models": "mapping", "corpus": "texts", "corpus_embeddings": "mapping"},
                                    edges=False),
    **{f"explorer.DimensionExplorer.{name}": S(
        _method("explorer.DimensionExplorer", _explorer, name), lambda ctx: {"query": "a late train", "dim": 16},
        kinds={"query": "texts_one"}, extra={"dim": [("not on the slider", _m(100)), ("zero", _m(0))]}, edges=False)
       for name in ("compare", "render_text", "render_html", "widget", "show")},
    # ------------------------------------------------------------------ shared modules
    "config.Settings": S(_fn("config.Settings"), lambda ctx: {"model": None, "data": "bundled",
                                                              "retrieval": "bundled"},
                         skip=("model", "data", "retrieval", "seed")),  # a record settings() returns
    "config.settings": S(lambda ctx: _imp("config.settings")()),
    "config.set_seed": S(_fn("config.set_seed"), lambda ctx: {"seed": 3}),
    "config.quiet": S(_fn("config.quiet"), lambda ctx: {"progress_bars": False}),
    "config.under_test": S(lambda ctx: _imp("config.under_test")()),
    "config.show_progress": S(_fn("config.show_progress"), lambda ctx: {"n_items": 3}),
    "config.cache_dir": S(lambda ctx: _imp("config.cache_dir")()),
    "config.cache_key": S(_fn("config.cache_key"), lambda ctx: {"recipe": _recipe(), "model_name": None},
                          kinds={"recipe": "object"}, skip=("model_name",)),
    "config.setup_notebook": S(_fn("config.setup_notebook"), lambda ctx: {"seed": 3}),
    "data.RetrievalData": S(_fn("data.RetrievalData"), lambda ctx: _retrieval_parts(), kinds={"corpus": "object",
                                                                              "queries": "object",
                                                                              "qrels": "object"}),
    "data.RetrievalData.head": S(lambda ctx, **kw: _imp("data.load_retrieval")().head(**kw),
                                 lambda ctx: {"max_queries": 5, "max_corpus": 40},
                                 kinds={"max_queries": "int", "max_corpus": "int"}),
    "data.bundled_path": S(_fn("data.bundled_path"), lambda ctx: {"name": "sts"},
                           extra={"name": [("unknown", _m("nothing-here")), ("an int", _m(5)),
                                           ("a parent", _m("../../etc"))]}),
    "data.load_sts": S(_fn("data.load_sts"), lambda ctx: {"source": ctx.sts_csv()},
                       kinds={"source": "path_in", "split": "choice", "score_range": "object"},
                       extra={"score_range": [("inf", _m((0, math.inf))), ("reversed", _m((5, 0))),
                                              ("a scalar", _m(5)), ("three", _m((0, 1, 2))),
                                              ("a NaN", _m((0, math.nan)))]}),
    "data.load_pairs": S(_fn("data.load_pairs"), lambda ctx: {}, kinds={"source": "path_in", "split": "choice"}),
    "data.load_retrieval": S(_fn("data.load_retrieval"), lambda ctx: {},
                             kinds={"source": "path_in", "split": "choice"}),
    "models.default_model_path": S(lambda ctx: _imp("models.default_model_path")()),
    "models.load_model": S(_fn("models.load_model"), lambda ctx: {"name_or_path": ctx.model_path},
                           kinds={"name_or_path": "path_in"}),
    "models.resolve_device": S(_fn("models.resolve_device"), lambda ctx: {"device": "cpu"}),
    "plotting.similarity_heatmap": S(_fn("plotting.similarity_heatmap"),
                                     lambda ctx: {"similarity": (DOCS[:3] @ DOCS[:3].T), "labels": ["a", "b", "c"]},
                                     kinds={"labels": "texts"}, skip=("title",), invariant=False, edges=False),
    "plotting.quality_by_dim": S(_fn("plotting.quality_by_dim"),
                                 lambda ctx: {"curves": {"m": {16: 0.8, 8: 0.7}}, "ylabel": "y", "title": "t"},
                                 kinds={"curves": "mapping", "marks": "mapping", "mark_like": "mapping",
                                        "ylim": "object", "ax": "object"}, skip=("ylabel", "title"),
                                 allow={"ylim": {"a list"}}),  # [1, 2] is a valid ylim
    "plotting.model_colour": S(_fn("plotting.model_colour"), lambda ctx: {"name": "adaptor", "i": 2},
                               kinds={"name": "texts_one", "i": "int"},
                               allow={"name": {"empty", "blank"}}),  # any string is a name (another colour)
    "plotting.storage_frontier_plot": S(_fn("plotting.storage_frontier_plot"),
                                        lambda ctx: {"frontiers": {"m": _imp("retrieval.storage_frontier")(
                                            QUERIES, DOCS, [16, 8], k=5)}},
                                        kinds={"frontiers": "mapping", "key": "choice", "ax": "object"},
                                        skip=("ylabel", "title")),
    "plotting.score_table": S(_fn("plotting.score_table"), lambda ctx: {"rows": {"m": {8: 0.5}}, "columns": [8]},
                              kinds={"rows": "mapping", "digits": "int", "columns": "object"}, skip=("title",)),
    "report.run_report": S(_fn("report.run_report"), lambda ctx: {"out_dir": str(ctx.tmp / "figures")},
                           kinds={"out_dir": "path_out", "models": "mapping", "shortlist": "int"}, edges=False),
    "report.plot_quality": S(_fn("report.plot_quality"),
                             lambda ctx: {"curves": {"m": {16: 0.8, 8: 0.7}}, "path": str(ctx.tmp / "q.png")},
                             kinds={"curves": "mapping", "path": "path_out"}),
    "vectordb.connect": S(_fn("vectordb.connect"), lambda ctx: {"location": ":memory:"},
                          kinds={"location": "path_out"},
                          extra={"location": [("an unreachable server", _m("http://127.0.0.1:9"))]}),
    "vectordb.build_collection": S(_fn("vectordb.build_collection"),
                                   lambda ctx: {"client": _imp("vectordb.connect")(), "collection": "c",
                                                "corpus_embeddings": DOCS, "shortlist_dim": 8},
                                   kinds={"client": "object", "collection": "texts_one"}, invariant=False),
    "vectordb.shortlist_rerank": S(lambda ctx, **kw: _imp("vectordb.shortlist_rerank")(**kw),
                                lambda ctx: _qdrant(ctx), kinds={"client": "object", "collection": "texts_one"},
                                extra={"shortlist": [("above the corpus", _m(10**6))]}),
    "cli.parse_dims": S(_fn("cli.parse_dims"), lambda ctx: {"dims": ["16", "8"]},
                        allow={"dims": {"too large"}}),  # no model here to bound them
    "cli.main": S(_fn("cli.main"), lambda ctx: {"argv": ["report", "--help"]}, kinds={"argv": "object"},
                  edges=False),
}
BAD["texts_one"] = [("empty", _m("")), ("blank", _m("  ")), ("an int", _m(5)), ("a list", _m(["tea"]))]


def _small_set(ctx):
    """A ModelSet on the bundled retrieval set with the tiny model as 'packaged' and random 48-dim vectors."""
    from mrl_tutorial.evaluation import ModelSet
    from mrl_tutorial.truncation import PCARotation

    retrieval = _imp("data.load_retrieval")()
    rng = np.random.default_rng(1)
    corpus = rng.standard_normal((len(retrieval.corpus), 48)).astype(np.float32)
    queries = corpus[:len(retrieval.queries)] + rng.standard_normal((len(retrieval.queries), 48)).astype(np.float32)
    pca = PCARotation().fit(corpus)
    return ModelSet({"packaged": ctx.model}, pca, {"packaged": (queries, corpus)}, retrieval)


def _frontiers() -> dict:
    return {"m": _imp("retrieval.storage_frontier")(QUERIES, DOCS, [8, 16], k=5, metric=lambda found: 0.5)}


def _retrieval_parts() -> dict:
    data = _imp("data.load_retrieval")()
    return {field.name: getattr(data, field.name) for field in dataclasses.fields(data)}


def _qdrant(ctx) -> dict:
    from mrl_tutorial.vectordb import build_collection, connect

    client = connect()
    build_collection(client, "c", DOCS, shortlist_dim=8)
    return {"client": client, "collection": "c", "query_embeddings": QUERIES, "shortlist": 20, "k": 5}


# ---------------------------------------------------------------- CLI commands: argv rows, each must exit non-zero
# naming its flag (argparse's own "argument --flag" or this package's error)
CLI_ROWS = {
    "train": [("--max-rows", ["--max-rows", "0"]), ("--max-rows", ["--max-rows", "-1"]),
              ("--max-rows", ["--max-rows", "x"]), ("--dims", ["--dims", "0"]), ("--dims", ["--dims", "x"]),
              ("--dims", ["--standard", "--dims", "64", "32"]), ("--weights", ["--weights", "nan"]),
              ("--lr", ["--lr", "1e30"]), ("--lr", ["--lr", "-1"]), ("--lr", ["--lr", "nan"]),
              ("--epochs", ["--epochs", "0"]), ("--batch-size", ["--batch-size", "0"]),
              ("--device", ["--device", "tpu"]), ("--output", ["--output", ""]),
              ("--seed", ["--seed", "-1"]), ("--texts", ["--texts", "{tmp}/missing.txt"]),
              ("--model", ["--model", "{tmp}/no-model-here/"])],
    "adapt": [("--max-iter", ["--max-iter", "0"]), ("--k", ["--k", "0"]), ("--batch-size", ["--batch-size", "1"]),
              ("--regularization", ["--regularization", "-1"]), ("--regularization", ["--regularization", "nan"]),
              ("--dims", ["--dims", "0"]), ("--device", ["--device", "tpu"]), ("--output", ["--output", ""]),
              ("--texts", ["--texts", "{tmp}/missing.txt"]), ("--model", ["--model", "{tmp}/no-model-here/"])],
    "report": [("--max-queries", ["--max-queries", "0"]), ("--max-corpus", ["--max-corpus", "-5"]),
               ("--shortlist", ["--shortlist", "0"]), ("--out", ["--out", ""]),
               ("--out", ["--out", "{tmp}/a-file.txt/figures"])],
}
CLI_REQUIRED = {"train": ["--output", "{tmp}/out"], "adapt": ["--output", "{tmp}/out"], "report": ["--out", "{tmp}/f"]}


# ---------------------------------------------------------------- the table
@functools.cache
def public_names() -> dict[str, object]:
    """Every public function, class and (class-defined) method of every public module, by ``module.name``."""
    found = {}
    for info in pkgutil.iter_modules(mrl_tutorial.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"mrl_tutorial.{info.name}")
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or getattr(obj, "__module__", None) != module.__name__:
                continue  # a constant, or a name another module owns
            found[f"{info.name}.{name}"] = obj
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    if inspect.isfunction(value):
                        found[f"{info.name}.{name}.{attr}"] = value
                    elif isinstance(value, (classmethod, staticmethod)):  # bound: no cls in its signature
                        found[f"{info.name}.{name}.{attr}"] = getattr(obj, attr)
    return found


def cli_commands() -> set[str]:
    import contextlib
    import io

    from mrl_tutorial.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["--help"])
    return set(re.search(r"\{([\w,-]+)\}", out.getvalue()).group(1).split(","))


def _parameters(name: str) -> dict[str, inspect.Parameter]:
    params = dict(inspect.signature(public_names()[name]).parameters)
    params.pop("self", None)
    return {p: v for p, v in params.items() if v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)}


def kind_of(name: str, argument: str, parameter: inspect.Parameter) -> str | None:
    spec = SPECS[name]
    if argument in spec.skip:
        return None
    if argument in spec.kinds:
        return spec.kinds[argument]
    annotation = str(parameter.annotation).replace(" ", "")
    if annotation in ("bool", "bool|None"):
        return "flag"
    for kind, names in BY_NAME.items():
        if argument in names:
            return kind
    if annotation in ("int", "int|None"):
        return "int"
    if annotation in ("float", "float|None"):
        return "number"
    return None


def _optional(parameter: inspect.Parameter) -> bool:
    return parameter.default is None or "None" in str(parameter.annotation)


def rows() -> list[tuple[str, str, str, str, Callable]]:
    """(id, function, argument, outcome wanted: 'refused' or 'edge', value maker)."""
    table = []
    for name in sorted(SPECS):
        params = _parameters(name)
        for argument, parameter in params.items():
            kind = kind_of(name, argument, parameter)
            bad = list(BAD.get(kind, [])) + SPECS[name].extra.get(argument, [])
            if kind and not _optional(parameter):
                bad.append(("None", _m(None)))
            seen = set()
            for label, make in bad:
                if label in seen or (label == "None" and _optional(parameter)) \
                        or label in SPECS[name].allow.get(argument, ()):
                    continue
                seen.add(label)
                table.append((f"{name}({argument}={label})", name, argument, "refused", make))
            # edge values change the ordinary value, so only of an argument that has one (not a None default)
            if SPECS[name].edges and parameter.default is not None:
                for label, change in EDGE.get(kind, []):
                    table.append((f"{name}({argument}~{label})", name, argument, "edge", change))
        for argument in SPECS[name].extra:
            if argument not in params:
                raise AssertionError(f"{name}: extra rows for {argument!r}, which it does not take")
    return table


TABLE = rows()
OUTCOMES: Counter = Counter()  # filled as the rows run; ``python tests/test_fuzz.py`` prints it


def names_argument(message: str, argument: str) -> bool:
    """Whether ``message`` names ``argument`` on word boundaries (``k`` is not named by ``block``)."""
    return re.search(rf"(?<![\w-]){re.escape(argument)}(?![\w])", message) is not None


def _finite(result) -> bool:
    if isinstance(result, torch.Tensor):
        return bool(torch.isfinite(result.detach().float()).all()) if result.is_floating_point() else True
    if isinstance(result, np.ndarray):
        return bool(np.isfinite(result).all()) if np.issubdtype(result.dtype, np.inexact) else True
    if isinstance(result, float):
        return math.isfinite(result)
    if isinstance(result, dict):
        return all(_finite(v) for v in result.values())
    if isinstance(result, (tuple, list)):
        return all(_finite(v) for v in result)
    return True


def _same(a, b) -> bool:
    """Equal results: indices exactly, floats to 1e-4 (float16 inputs carry ~1e-3 relative rounding)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().float().numpy()
    if isinstance(b, torch.Tensor):
        b = b.detach().float().numpy()
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if np.issubdtype(a.dtype, np.integer):
            return bool((a == b).all())
        return bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-4, atol=1e-4))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-4)
    return True  # objects (an index, a module, a figure): no further check


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def run_row(name: str, argument: str, outcome: str, make: Callable, ctx: Context):
    """Call one row; return ('refused', message, files written) or ('result', result, ordinary result or None)."""
    spec = SPECS[name]
    kwargs = spec.valid(ctx)
    if outcome == "refused":
        value = make(ctx)
        kwargs.update(value) if isinstance(value, Patch) else kwargs.__setitem__(argument, value)
    else:  # an edge form of the ordinary value (the argument's default when the spec leaves it out)
        kwargs[argument] = make(kwargs[argument] if argument in kwargs else _parameters(name)[argument].default)
    before = _tree(ctx.tmp)
    try:
        result = spec.call(ctx, **kwargs)
    except (ValueError, TypeError, FileNotFoundError) as error:
        return ("refused", f"{type(error).__name__}: {error}", sorted(set(_tree(ctx.tmp)) - set(before)))
    ordinary = spec.call(ctx, **spec.valid(ctx)) if outcome == "edge" and spec.invariant else None
    return ("result", result, ordinary)


@pytest.mark.parametrize(("case", "name", "argument", "outcome", "make"), TABLE, ids=[r[0] for r in TABLE])
def test_bad_or_edge_input(case, name, argument, outcome, make, request, tmp_path, monkeypatch):
    """A bad value is refused by this package, naming the argument; an edge value is refused the same way or
    gives the ordinary input's result (no NaN or infinity in it)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ctx = Context(request, tmp_path)
    got = run_row(name, argument, outcome, make, ctx)
    OUTCOMES[f"{outcome} value: {'refused by name' if got[0] == 'refused' else 'accepted'}"] += 1
    if got[0] == "refused":
        assert names_argument(got[1], argument), f"{case}: the message does not name {argument!r}: {got[1]}"
    else:
        assert outcome == "edge", f"{case}: accepted without an error; returned {type(got[1]).__name__}"
        assert _finite(got[1]), f"{case}: the result holds a NaN or an infinity"
        if got[2] is not None:
            assert _same(got[1], got[2]), f"{case}: the result differs from the ordinary input's"
    if got[0] == "refused":
        assert got[2] == [], f"{case}: a refused call wrote {got[2]}"
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize(("command", "flag", "argv"), [(c, f, a) for c, rs in CLI_ROWS.items() for f, a in rs],
                         ids=[f"{c} {' '.join(a)}" for c, rs in CLI_ROWS.items() for f, a in rs])
def test_cli_bad_input(command, flag, argv, tmp_path, monkeypatch, capsys):
    """A bad CLI value exits non-zero before any work, naming the flag; nothing is written."""
    from mrl_tutorial.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file.txt").write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    required = [a.replace("{tmp}", str(tmp_path)) for a in CLI_REQUIRED[command]]
    if required[0] in args:
        required = []
    before = sorted(p.name for p in tmp_path.iterdir())
    try:
        code = main([command, *required, *args])
    except SystemExit as error:
        code = error.code
    assert code not in (0, None), f"mrl-tutorial {command} {' '.join(args)} succeeded"
    message = capsys.readouterr().err
    field = flag.lstrip("-").replace("-", "_")  # --batch-size sets the recipe's batch_size: either name is clear
    assert names_argument(message, flag) or names_argument(message, field), \
        f"the error does not name {flag}: {message[-400:]}"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_every_public_name_and_command_is_in_the_table():
    """Generated from the package: a new public function, class, method or CLI command without rows fails here."""
    assert sorted(set(public_names()) - set(SPECS)) == [], "public names with no fuzz rows"
    assert sorted(set(SPECS) - set(public_names())) == [], "fuzz rows for names that are not public"
    assert cli_commands() == set(CLI_ROWS)


def test_every_argument_of_every_name_has_a_kind_or_is_named_free():
    """A new argument gets bad values from its kind; one the table cannot infer must be given a kind or skipped."""
    missing = [f"{name}({argument})" for name in SPECS for argument, p in _parameters(name).items()
               if kind_of(name, argument, p) is None and argument not in SPECS[name].skip
               and argument not in FREE and argument not in SPECS[name].extra]
    assert missing == []


# arguments with no bad value of their own kind: free text, names, callables checked by use
FREE = {"name", "title", "model_name", "ylabel", "transform", "base_loss", "supervised", "evaluator",
        "eval_steps", "score", "config", "kwargs", "changes", "query"}


def test_word_boundary_match():
    """The argument-naming check is strict: one-letter names do not match inside other words."""
    assert names_argument("k must be an int >= 1, got 0", "k")
    assert not names_argument("block must be an int", "k")
    assert not names_argument("rank_k must be", "k")
    assert names_argument("--max-rows must be >= 1", "--max-rows")


def _documented():
    from mrl_tutorial.embeddings import cosine_similarity, top_k
    from mrl_tutorial.retrieval import exact_search, shortlist_rerank
    from mrl_tutorial.truncation import truncate

    docs64 = DOCS.astype(np.float64)
    unit64 = docs64 / np.linalg.norm(docs64, axis=1, keepdims=True)
    huge = np.array([[1e20, 1e20, 1.0], [1e-30, 1e-30, 0.0]])
    return [
        ("truncate to the full dim is the normalized input (float64 reference)",
         lambda: np.allclose(truncate(DOCS, 16), unit64, atol=1e-6)),
        ("cosine similarity equals the float64 reference",
         lambda: np.allclose(cosine_similarity(QUERIES, DOCS),
                             (QUERIES / np.linalg.norm(QUERIES, axis=1, keepdims=True)).astype(np.float64) @ unit64.T,
                             atol=1e-6)),
        ("top_k with k = all columns sorts every row", lambda: (top_k(DOCS, 16)[1] == -np.sort(-DOCS, axis=1)).all()),
        ("a shortlist of the whole corpus is exact search",
         lambda: (shortlist_rerank(QUERIES, DOCS, shortlist_dim=8, shortlist=40, k=5)[0]
                  == exact_search(QUERIES, DOCS, 5)[0]).all()),
        ("a zero row stays zero when truncated",
         lambda: (truncate(np.vstack([np.zeros((1, 16)), DOCS]), 8)[0] == 0).all()),
        ("huge and tiny rows truncate to unit length (NumPy and torch)",
         lambda: np.allclose(np.linalg.norm(truncate(huge, 2), axis=1), 1.0)
         and np.allclose(truncate(torch.tensor(huge, dtype=torch.float32), 2).norm(dim=1).numpy(), 1.0)),
    ]


@pytest.mark.parametrize("index", range(6), ids=[label for label, _ in _documented()])
def test_edge_input_gives_the_documented_result(index):
    """Allowed edge inputs give the result the docstrings promise, checked against a float64 reference."""
    assert _documented()[index][1]()


if __name__ == "__main__":
    import sys

    code = pytest.main([__file__, "-q", "-p", "no:cacheprovider", "-x" if "-x" in sys.argv else "-q"])
    table = sys.modules.get("test_fuzz", sys.modules[__name__])
    print(f"{len(TABLE)} rows over {len(SPECS)} public names (of {len(public_names())}) and "
          f"{sum(map(len, CLI_ROWS.values()))} CLI rows over {len(CLI_ROWS)} commands; outcomes: "
          + ", ".join(f"{k} {v}" for k, v in sorted(table.OUTCOMES.items())))
    sys.exit(code)
