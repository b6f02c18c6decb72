"""mrl-tutorial: helpers for the Matryoshka Representation Learning notebooks.

One module per notebook topic — :mod:`~mrl_tutorial.embeddings` (01), :mod:`~mrl_tutorial.nested_loss` (02),
:mod:`~mrl_tutorial.training` (03), :mod:`~mrl_tutorial.adaptor` (04), :mod:`~mrl_tutorial.truncation` (05),
:mod:`~mrl_tutorial.retrieval` (06)
— and shared pieces: :mod:`~mrl_tutorial.config`, :mod:`~mrl_tutorial.data`, :mod:`~mrl_tutorial.models`,
:mod:`~mrl_tutorial.plotting`.
"""

__version__ = "0.1.0"
