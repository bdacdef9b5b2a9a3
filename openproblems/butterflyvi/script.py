"""The OpenProblems predict_modality component of butterflyvi (viash ``python_script``)."""

import sys

import butterflyvi as bf

## VIASH START
par = {
    "input_train_mod1": "resources_test/task_predict_modality/openproblems_neurips2021/bmmc_cite/normal/train_mod1.h5ad",
    "input_train_mod2": "resources_test/task_predict_modality/openproblems_neurips2021/bmmc_cite/normal/train_mod2.h5ad",
    "input_test_mod1": "resources_test/task_predict_modality/openproblems_neurips2021/bmmc_cite/normal/test_mod1.h5ad",
    "output": "output.h5ad",
    "seed": 0,
}
meta = {"name": "butterflyvi", "resources_dir": "src/utils"}
## VIASH END

sys.path.append(meta["resources_dir"])

print("Training and predicting", flush=True)
try:
    prediction = bf.openproblems.predict_modality(
        par["input_train_mod1"], par["input_train_mod2"], par["input_test_mod1"], seed=par["seed"]
    )
except bf.openproblems.NotApplicable as reason:
    from exit_codes import exit_non_applicable

    exit_non_applicable(str(reason))
prediction.uns["method_id"] = meta["name"]
print(f"Blend: {prediction.uns['butterflyvi_ensemble']['weights']}", flush=True)
print("Writing the prediction", flush=True)
prediction.write_h5ad(par["output"], compression="gzip")
