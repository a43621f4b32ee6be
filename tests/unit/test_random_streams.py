"""Random streams are named children of one SeedSequence per seed, not seed offsets."""

from __future__ import annotations

import itertools

import pytest
import torch

from anyshot.utils import RANDOM_STREAMS, stream_generator, stream_seed


def test_seeds_0_and_11_share_no_stream():
    # With offsets, seed 0's k-means stream (0 + 11) was seed 11's training stream.
    seeds = {(s, p): stream_seed(s, p) for s in (0, 11) for p in RANDOM_STREAMS}
    assert len(set(seeds.values())) == len(seeds)
    cpu = torch.device("cpu")
    draws = {k: tuple(torch.randint(2**62, (4,), generator=stream_generator(*k, cpu)).tolist())
             for k in seeds}
    assert len(set(draws.values())) == len(draws)


def test_streams_are_distinct_and_deterministic_across_many_seeds():
    values = [stream_seed(s, p) for s, p in itertools.product(range(50), RANDOM_STREAMS)]
    assert len(set(values)) == len(values)
    assert stream_seed(3, "training") == stream_seed(3, "training")
    with pytest.raises(ValueError, match="unknown random stream 'noise'"):
        stream_seed(0, "noise")
