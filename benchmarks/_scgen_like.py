"""A latent-shift baseline written from the scGen paper (Lotfollahi et al., Nat. Methods 2019).

pertpy's scGen does not install beside this package's pinned stack, so the method is written
here from the paper's description: a VAE on log-normalised expression (two hidden layers of
800 units with batch norm, leaky ReLU and dropout 0.2; a 100-d latent; MSE reconstruction and
a KL term weighted 5e-5; Adam, lr 1e-3, batch 32, up to 100 epochs with early stopping on 10 %
of the cells), trained on every cell but the held-out type's stimulated ones. The shift
δ = mean latent of the stimulated cells − mean latent of the control cells, after balancing
the cell types (each condition × type resampled to the largest group); the prediction
decodes the held-out control cells' latents plus δ.
"""

from __future__ import annotations

import numpy as np
import torch
from anndata import AnnData
from torch import nn

HIDDEN = 800
LATENT = 100
KL_WEIGHT = 5e-5


def _block(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.LeakyReLU(), nn.Dropout(0.2)
    )


class _VAE(nn.Module):
    def __init__(self, n_genes: int):
        super().__init__()
        self.encoder = nn.Sequential(_block(n_genes, HIDDEN), _block(HIDDEN, HIDDEN))
        self.mean = nn.Linear(HIDDEN, LATENT)
        self.log_var = nn.Linear(HIDDEN, LATENT)
        self.decoder = nn.Sequential(
            _block(LATENT, HIDDEN), _block(HIDDEN, HIDDEN), nn.Linear(HIDDEN, n_genes)
        )

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        mean, log_var = self.mean(h), self.log_var(h)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        reconstruction = ((self.decoder(z) - x) ** 2).sum(dim=1).mean()
        kl = -0.5 * (1 + log_var - mean**2 - log_var.exp()).sum(dim=1).mean()
        return reconstruction + KL_WEIGHT * kl

    @torch.no_grad()
    def latent(self, x: torch.Tensor) -> torch.Tensor:
        return self.mean(self.encoder(x))


def _dense(adata: AnnData) -> np.ndarray:
    X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    return X.astype(np.float32)


def _train(X: np.ndarray, seed: int, max_epochs: int = 100, patience: int = 20) -> _VAE:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_val = max(2, len(X) // 10)
    val, train = torch.from_numpy(X[order[:n_val]]), torch.from_numpy(X[order[n_val:]])
    model = _VAE(X.shape[1])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    best, best_state, waited = np.inf, None, 0
    for _ in range(max_epochs):
        model.train()
        for start in range(0, len(train), 32):
            batch = train[torch.from_numpy(rng.permutation(len(train)))[start : start + 32]]
            if len(batch) < 2:
                continue
            optimiser.zero_grad()
            model.loss(batch).backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            loss = float(model.loss(val))
        if loss < best:
            best, waited = loss, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return model


def _balanced(adata: AnnData, rng: np.random.Generator) -> np.ndarray:
    """Rows resampled so that every cell type has as many cells as the largest one."""
    types = adata.obs["cell_type"].astype(str).to_numpy()
    largest = max(np.sum(types == t) for t in np.unique(types))
    rows = [rng.choice(np.flatnonzero(types == t), size=largest) for t in np.unique(types)]
    return np.concatenate(rows)


def scgen_like(train: AnnData, ctrl_heldout: AnnData, *, seed: int) -> AnnData:
    """Predict the held-out type's stimulated cells from its control cells by a latent shift.

    ``train`` holds every cell the method may see (both conditions of the other types and
    the held-out type's control cells), with obs ``condition`` and ``cell_type``.
    """
    model = _train(_dense(train), seed)
    rng = np.random.default_rng(seed)
    is_stim = (train.obs["condition"] == "stimulated").to_numpy()
    latents = []
    for mask in (is_stim, ~is_stim):
        part = train[mask]
        rows = _balanced(part, rng)
        latents.append(model.latent(torch.from_numpy(_dense(part)[rows])).mean(dim=0))
    delta = latents[0] - latents[1]
    with torch.no_grad():
        z = model.latent(torch.from_numpy(_dense(ctrl_heldout))) + delta
        X = model.decoder(z).numpy()
    return AnnData(X=np.maximum(X, 0), var=ctrl_heldout.var[[]])
