"""Early stopping in pretraining (the paper's, ``pretrain_patience``): phase 2 starts after the
last improving epoch plus the patience, and still runs its own number of epochs."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from butterflyvi.train import BestWeightsEarlyStopping, PretrainEarlyStopping


def test_phase_two_starts_when_pretraining_stops_improving():
    phase_two = BestWeightsEarlyStopping(
        "validation_translation_loss", start_epoch=100, patience=50
    )
    callback = PretrainEarlyStopping(2, phase_two)
    module = SimpleNamespace(phase=1, n_epochs_pretrain=100)
    trainer = SimpleNamespace(sanity_checking=False, fit_loop=SimpleNamespace(max_epochs=300))
    for epoch, loss in enumerate([1.0, 0.9, 0.95, 0.96, 0.5]):
        trainer.current_epoch = epoch
        trainer.callback_metrics = {"validation_pretrain_loss": torch.tensor(loss)}
        callback.on_validation_end(trainer, module)
        if module.n_epochs_pretrain != 100:
            break
    assert callback.stopped_epoch == 3  # two epochs without improving on 0.9
    assert module.n_epochs_pretrain == 4 and phase_two.start_epoch == 4
    assert trainer.fit_loop.max_epochs == 4 + 200  # phase 2 keeps its 200 epochs


def test_it_never_acts_in_phase_two_or_before_its_patience():
    phase_two = BestWeightsEarlyStopping("validation_translation_loss", start_epoch=10, patience=5)
    callback = PretrainEarlyStopping(3, phase_two)
    module = SimpleNamespace(phase=1, n_epochs_pretrain=10)
    trainer = SimpleNamespace(sanity_checking=False, fit_loop=SimpleNamespace(max_epochs=20))
    for epoch, loss in enumerate([1.0, 1.1, 1.2]):  # only two epochs without improvement
        trainer.current_epoch = epoch
        trainer.callback_metrics = {"validation_pretrain_loss": torch.tensor(loss)}
        callback.on_validation_end(trainer, module)
    module.phase = 2
    trainer.current_epoch = 3
    callback.on_validation_end(trainer, module)
    assert module.n_epochs_pretrain == 10 and trainer.fit_loop.max_epochs == 20
    assert callback.stopped_epoch is None


def test_a_real_training_switches_phase_early_and_keeps_phase_two_whole(one_torch_thread):
    import scvi

    import butterflyvi as bf
    from _tiny import QUIET, make_raw, preprocess

    scvi.settings.seed = 0
    mdata = preprocess(make_raw(200))
    bf.ButterflyModel.setup_mudata(mdata)
    model = bf.ButterflyModel(mdata, preset="paper")
    model.train(max_epochs_pretrain=40, max_epochs=5, pretrain_patience=1, **QUIET)
    pretrained = len(model.history["pretrain_loss"])
    assert pretrained < 40  # 27 when written
    assert len(model.history["train_loss"]) == 5
    assert pretrained <= model.best_epoch_ < pretrained + 5  # chosen among phase-2 epochs
