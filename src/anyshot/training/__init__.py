"""Pieces of adversarial training shared by the generative methods."""
