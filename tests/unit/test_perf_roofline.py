"""benchmarks/perf.py's roofline counts the matrix products of a training step: the recorder must
see every product with its FLOPs (hand-counted here for a linear layer, forward and backward)
and operand shapes the replay can run."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def perf():
    return load_benchmark("perf")


def test_recorder_counts_linear_forward_and_backward(perf):
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 5)
    x = torch.randn(4, 3, requires_grad=True)
    rec = perf._gemm_recorder()
    with rec:
        layer(x).sum().backward()
    ops = sorted(c[0] for c in rec.calls)
    # forward: addmm (4x3 @ 3x5); backward: grad of x (4x5 @ 5x3) and of W (5x4 @ 4x3)
    assert ops == ["aten.addmm", "aten.mm", "aten.mm"]
    assert [c[3] for c in rec.calls] == [2 * 4 * 3 * 5] * 3
    assert all(c[2] == torch.float32 for c in rec.calls)


def test_recorder_sees_second_order_products_and_replay_runs(perf):
    torch.manual_seed(0)
    layer = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    x = torch.randn(10, 6, requires_grad=True)
    rec = perf._gemm_recorder()
    with rec:
        (g,) = torch.autograd.grad(layer(x).sum(), x, create_graph=True)
        g.norm(dim=1).sum().backward()  # the gradient-penalty pattern of WGAN-GP
    # forward (2 addmm) and the input gradient (2 mm) are 4 products; the penalty's backward
    # adds at least the first layer's weight gradient. (torch's FlopCounterMode raises here.)
    assert len(rec.calls) > 4
    # The replay rebuilds operands from the recorded shapes: they must be the product's own
    # (m, k) @ (k, n) (after addmm's bias), which the FLOPs 2 m k n confirm, and must run.
    for op, shapes, _, flops in rec.calls:
        (m, k), (k2, n) = shapes[-2:]
        assert k == k2 and flops == 2 * m * k * n, (op, shapes, flops)
    perf._replay_gemms(rec.calls, torch.device("cpu"))
