"""The chromosome-blocked encoder reads CSR input as it is: the same function as the dense
path, with the same gradients, for the paper's and CrossMP's encoders.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch

from butterflyvi.module import NetworkSpec, csr_tensor
from butterflyvi.module._layers import ChromosomeEncoderLayer, input_dropout
from butterflyvi.module._networks import chromosome_encoder

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta"),
]


def sparse_input(n_cells: int, n_features: int, density: float, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    mask = torch.rand(n_cells, n_features, generator=generator) < density
    x = mask * torch.rand(n_cells, n_features, generator=generator)
    x[3] = 0  # a cell with no open peak
    return x


def interleaved_groups(n_features: int, n_groups: int, seed: int = 0) -> list[np.ndarray]:
    chromosome = np.random.default_rng(seed).integers(0, n_groups, n_features)
    return [np.flatnonzero(chromosome == c) for c in range(n_groups)]


def contiguous_groups(n_features: int, n_groups: int) -> list[np.ndarray]:
    return list(np.array_split(np.arange(n_features), n_groups))


def outputs_and_gradients(network: torch.nn.Module, x: torch.Tensor):
    network.zero_grad()
    torch.manual_seed(1)  # the same dropout masks after the hidden layers
    out = network(x)
    (out * torch.linspace(-1, 1, out.shape[1])).square().sum().backward()
    return out.detach(), [p.grad.clone() for p in network.parameters()]


@pytest.mark.parametrize("groups", ["interleaved", "contiguous"])
@pytest.mark.parametrize("chromosome_hidden", [None, 16])  # the paper's, CrossMP's
def test_sparse_input_gives_the_dense_function_and_gradients(groups, chromosome_hidden):
    n_features = 400
    parts = (
        interleaved_groups(n_features, 5)
        if groups == "interleaved"
        else contiguous_groups(n_features, 5)
    )
    torch.manual_seed(0)
    spec = NetworkSpec(n_embedding=12, chromosome_units=4, chromosome_hidden=chromosome_hidden)
    network = chromosome_encoder(n_features, parts, spec).train()
    x = sparse_input(32, n_features, 0.05)
    dense_out, dense_grads = outputs_and_gradients(network, x)
    sparse_out, sparse_grads = outputs_and_gradients(network, x.to_sparse_csr())
    torch.testing.assert_close(sparse_out, dense_out, rtol=1e-5, atol=1e-5)
    for sparse_grad, dense_grad in zip(sparse_grads, dense_grads, strict=True):
        torch.testing.assert_close(sparse_grad, dense_grad, rtol=1e-4, atol=1e-5)
    assert any(g.abs().sum() > 0 for g in sparse_grads)


def test_unsorted_columns_and_an_empty_batch_are_read_correctly():
    groups = interleaved_groups(60, 3)
    layer = ChromosomeEncoderLayer(groups, 60, units=4, dropout=0.0).eval()
    x = sparse_input(6, 60, 0.2)
    csr = x.to_sparse_csr()
    crow, cols, values = csr.crow_indices(), csr.col_indices(), csr.values()
    # reverse the entries inside every row: same matrix, columns not sorted
    order = torch.cat([torch.arange(a, b).flip(0) for a, b in pairwise(crow.tolist())])
    shuffled = csr_tensor(crow, cols[order], values[order], (6, 60))
    torch.testing.assert_close(layer.sparse_hidden(shuffled), layer.dense_hidden(x))
    empty = torch.zeros(4, 60)
    torch.testing.assert_close(
        layer.sparse_hidden(empty.to_sparse_csr()), layer.dense_hidden(empty)
    )


def test_input_dropout_of_a_csr_input_masks_only_its_values():
    x = sparse_input(200, 300, 0.1)
    csr = x.to_sparse_csr()
    torch.manual_seed(2)
    out = input_dropout(csr, 0.3)
    assert out.layout == torch.sparse_csr
    assert torch.equal(out.crow_indices(), csr.crow_indices())
    assert torch.equal(out.col_indices(), csr.col_indices())
    kept = out.values() != 0
    torch.testing.assert_close(out.values()[kept], csr.values()[kept] / 0.7)
    n = csr.values().numel()
    assert abs(int(kept.sum()) / n - 0.7) < 5 * (0.21 / n) ** 0.5
    assert int(input_dropout(csr, 1.0).values().count_nonzero()) == 0
    assert input_dropout(csr, 0.3, training=False) is csr
