"""Reference predictors without a neural network: how far a translation target can be reached.

``python -m benchmarks.ceiling --dataset snareseq``

On the test cells of a paired dataset (same split, preprocessing and metrics as
``benchmarks.run``), scores four predictors of each modality from the other:

- ``mean``: every cell = the training mean (the trivial baseline of every table);
- ``knn``: a translator that needs no training — each test cell's *source* profile is
  projected on the training cells' first 50 principal components (LSI for ATAC, without the
  first, depth-driven component), and its prediction is the mean *target* profile of its
  ``k`` nearest training cells (``k`` chosen on the validation cells);
- ``cell_type_oracle``: each test cell = the training mean of its *true* cell type (uses the
  test labels, so it is not a translator: it is what knowing the cell type exactly buys);
- ``*_x_depth_oracle`` (accessibility only): the above multiplied by the test cell's
  *measured* number of open peaks (uses the truth: what knowing each cell's sequencing depth
  exactly would add).

Accessibility predictions are fractions of open training cells (a probability of being open),
expression predictions mean log-normalised expression. Writes
``benchmarks/results/ceiling_<dataset>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from anndata import AnnData
from scipy import sparse
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.neighbors import NearestNeighbors

import butterflyvi as bf

from ._data import PAIRED, PairedData, load_paired
from ._paired import _kind, _with_labels
from ._perf_common import RESULTS
from ._report import Record, fmt
from ._timing import machine, versions

K_CHOICES = (5, 15, 30, 50, 100)


def _embedding(data: PairedData, mod: str) -> np.ndarray:
    """50-dimensional embedding of every cell, fitted on the training cells only (sparse input:
    LSI for ATAC, PCA with implicit centring otherwise)."""
    X = sparse.csr_matrix(data.mdata.mod[mod].X, dtype=np.float32)
    train = data.split["train"]
    if _kind(mod) == "accessibility":
        svd = TruncatedSVD(n_components=51, random_state=0).fit(X[train])
        Z = svd.transform(X)[:, 1:]
    else:
        pca = PCA(n_components=50, svd_solver="arpack", random_state=0).fit(X[train])
        Z = pca.transform(X)
    return (Z - Z[train].mean(0)) / (Z[train].std(0) + 1e-8)


def _target(data: PairedData, mod: str) -> sparse.csr_matrix:
    """The target profiles, sparse (accessibility binarised: open or not)."""
    X = sparse.csr_matrix(data.mdata.mod[mod].X)
    if _kind(mod) == "accessibility":
        X = (X > 0).astype(np.float32)
    return X.astype(np.float32)


def _row_means(Y: sparse.csr_matrix, groups: list[np.ndarray]) -> np.ndarray:
    """Dense ``len(groups) × features``: the mean of ``Y``'s rows in each group, computed as
    one sparse averaging product (only the prediction is dense)."""
    sizes = np.array([g.size for g in groups])
    W = sparse.csr_matrix(
        (np.repeat(1.0 / sizes, sizes), np.concatenate(groups), np.r_[0, np.cumsum(sizes)]),
        shape=(len(groups), Y.shape[0]),
    )
    return np.asarray((W @ Y).todense(), dtype=np.float32)


def _knn_predict(Z, Y, train, query, k: int) -> np.ndarray:
    nn = NearestNeighbors(n_neighbors=k).fit(Z[train])
    _, idx = nn.kneighbors(Z[query])
    return _row_means(Y[train], list(idx))


def _score(pred: np.ndarray, truth: AnnData, kind: str) -> dict:
    adata = AnnData(X=pred, var=truth.var[[]])
    adata.obs_names = truth.obs_names
    metric = bf.metrics.accessibility if kind == "accessibility" else bf.metrics.expression
    return metric(adata, truth)


def _choose_k(Z, Y, data: PairedData, target: str) -> tuple[int, dict]:
    """k with the best validation score (AUROC per peak, or mean Pearson per gene)."""
    val = data.split["validation"]
    truth = data.mdata.mod[target][val]
    key = "auroc_per_peak_mean" if _kind(target) == "accessibility" else "pearson_per_feature_mean"
    scores = {}
    for k in K_CHOICES:
        scores[k] = _score(_knn_predict(Z, Y, data.split["train"], val, k), truth, _kind(target))[
            key
        ]
    return max(scores, key=lambda k: scores[k]), {"criterion": key, "scores": scores}


def run(name: str) -> dict:
    data = load_paired(name)
    x, y = data.mods
    train, test = data.split["train"], data.split["test"]
    labels_all = np.asarray(data.mdata.obs[data.label_key].astype(str))
    out: dict = {"directions": {}}
    embeddings = {mod: _embedding(data, mod) for mod in (x, y)}
    for source, target in ((x, y), (y, x)):
        kind = _kind(target)
        Y = _target(data, target)
        truth = data.mdata.mod[target][test]
        start = time.perf_counter()
        k, k_choice = _choose_k(embeddings[source], Y, data, target)
        preds = {
            "mean": bf.metrics.baseline_mean(Y[train], test.size).X,
            "knn": _knn_predict(embeddings[source], Y, train, test, k),
        }
        knn_seconds = time.perf_counter() - start
        # The training cells of each test cell's true type (all training cells if none).
        by_type = {t: np.flatnonzero(labels_all[train] == t) for t in np.unique(labels_all)}
        groups = [
            by_type[t] if by_type[t].size else np.arange(train.size) for t in labels_all[test]
        ]
        preds["cell_type_oracle"] = _row_means(Y[train], groups)
        if kind == "accessibility":
            depth = np.asarray(Y[test].sum(1)) / Y[train].sum(1).mean()
            for base in ("mean", "knn", "cell_type_oracle"):
                preds[f"{base}_x_depth_oracle"] = np.asarray(preds[base]) * depth
        scores = {}
        for pname, pred in preds.items():
            scores[pname] = _score(np.ascontiguousarray(pred, dtype=np.float32), truth, kind)
            if pname in ("knn", "cell_type_oracle"):
                scores[pname]["clustering"] = bf.metrics.clustering(
                    _with_labels(AnnData(X=np.asarray(pred)), labels_all[test], "label"),
                    label_key="label",
                )
        out["directions"][f"{source}_to_{target}"] = {
            "k": k,
            "k_choice": k_choice,
            "knn_seconds": knn_seconds,
            "scores": scores,
        }
    return out


ROWS = {
    "accessibility": [
        ("AUROC, all entries", "auroc"),
        ("AUPR, all entries", "aupr"),
        ("AUROC per peak, mean", "auroc_per_peak_mean"),
    ],
    "expression": [
        ("Pearson per gene, mean", "pearson_per_feature_mean"),
        ("Pearson per cell, mean", "pearson_per_cell_mean"),
    ],
}


def markdown(name: str, result: dict, command: str) -> str:
    lines = [f"# {name}: reference predictors without a neural network", ""]
    for direction, entry in result["directions"].items():
        scores = entry["scores"]
        kind = "accessibility" if "auroc" in scores["mean"] else "expression"
        cols = list(scores)
        lines += [
            f"## {direction} (kNN: k = {entry['k']})",
            "",
            "| metric | " + " | ".join(cols) + " |",
            "|---|" + "---|" * len(cols),
        ]
        for label, key in ROWS[kind]:
            lines.append(f"| {label} | " + " | ".join(fmt(scores[c].get(key)) for c in cols) + " |")
        for c in ("knn", "cell_type_oracle"):
            cl = scores[c]["clustering"]
            lines.append(f"| clustering ARI / AMI ({c}) | {fmt(cl['ari'])} / {fmt(cl['ami'])} |")
        lines.append("")
    lines += ["## Environment", "", f"- command: `{command}`"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=[n for n in PAIRED if n != "demo"], required=True)
    args = parser.parse_args(argv)
    command = f"python -m benchmarks.ceiling --dataset {args.dataset}"
    path = RESULTS / f"ceiling_{args.dataset}.json"
    record = Record(path, {"dataset": args.dataset, "command": command})
    result = run(args.dataset)
    record.update(**result, machine=machine(), versions=versions())
    path.with_suffix(".md").write_text(markdown(args.dataset, result, command))
    print(path.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
