"""Nestcap audio-visual Matryoshka recognizer: corpus, model, training, export, evaluation."""

__version__ = "0.1.0"
