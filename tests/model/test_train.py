"""Training loop: length buckets, AUC, best-epoch weights, checkpoints and resume."""

import numpy as np
import pytest
import torch

import skysift.train as T
from skysift.errors import InputError, ModelMismatchError
from skysift.losses import make_loss
from skysift.model import LightCurveRNN
from skysift.train import (
    SequenceData,
    TrainConfig,
    inference_batches,
    length_batches,
    multiclass_auc,
    predict_logits,
    train,
)


def toy_data(n=150, seed=0, t_max=12, n_classes=3):
    """Sequences whose class sets the magnitude level (feature 1): easy to separate."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    lengths = rng.integers(1, t_max + 1, n)
    v = np.zeros((n, t_max, 3), np.float32)
    for i in range(n):
        k = lengths[i]
        v[i, :k, 0] = np.sort(rng.uniform(0, 2, k))
        v[i, :k, 1] = (y[i] - 1) * 1.5 + rng.normal(0, 0.3, k)
        v[i, :k, 2] = rng.uniform(0, 0.2, k)
    ctx = rng.normal(size=(n, 2))
    return SequenceData(v, lengths, ctx, y)


def small_net(seed=0, rnn="gru"):
    torch.manual_seed(seed)
    return LightCurveRNN(3, 2, 3, rnn=rnn, rnn_units=12, dense_units=12, dropout=0.2)


def cfg(**kw):
    base = dict(epochs=4, batch_size=16, lr=5e-3, seed=0, progress=False)
    base.update(kw)
    return TrainConfig(**base)


def test_length_batches_cover_everything_once_and_mostly_one_length():
    rng = np.random.default_rng(0)
    lengths = np.clip(rng.geometric(0.2, 1000), 1, 30)
    batches = length_batches(lengths, 32, np.random.default_rng(1))
    allidx = np.concatenate(batches)
    assert sorted(allidx.tolist()) == list(range(1000))
    assert min(len(b) for b in batches) >= 2 and max(len(b) for b in batches) <= 33
    single = [b for b in batches if len(set(lengths[b])) == 1]
    assert sum(len(b) for b in single) / 1000 > 0.6
    full = [b for b in batches if len(b) == 32]
    assert all(len(set(lengths[b])) == 1 for b in full if lengths[b].min() == lengths[b].max()) and full
    # reproducible with the same generator state, different with another
    again = length_batches(lengths, 32, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    other = length_batches(lengths, 32, np.random.default_rng(2))
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other))


def test_length_batches_never_leave_a_single_object():
    lengths = np.array([1] * 33 + [5])
    batches = length_batches(lengths, 32, np.random.default_rng(0))
    assert min(len(b) for b in batches) >= 2
    assert sorted(np.concatenate(batches).tolist()) == list(range(34))


def test_inference_batches():
    lengths = np.array([3, 1, 1, 2, 9, 9, 9, 1])
    batches = inference_batches(lengths, 3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(8))
    assert max(len(b) for b in batches) <= 3


def test_multiclass_auc():
    y = np.array([0, 1, 2, 0, 1, 2])
    p = np.eye(3)[y] * 0.9 + 0.1 / 3
    assert multiclass_auc(y, p) == pytest.approx(1.0)
    assert multiclass_auc(y, p[:, ::-1]) <= 0.5
    y2 = np.array([0, 1, 1, 0])
    p2 = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.6, 0.4]])
    assert multiclass_auc(y2, p2) == pytest.approx(1.0)
    assert np.isnan(multiclass_auc(np.array([0, 0, 1]), np.full((3, 3), 1 / 3)))  # class 2 missing


def test_train_learns_and_keeps_the_best_epoch():
    tr, va = toy_data(160, 0), toy_data(60, 1)
    net = small_net()
    loss = make_loss("focal", np.ones(3), 2.0)
    res = train(net, tr, va, loss, cfg(epochs=6))
    assert [h["epoch"] for h in res.history] == list(range(1, 7))
    assert set(res.history[0]) == {"epoch", "train_loss", "val_loss", "val_auc", "seconds"}
    aucs = [h["val_auc"] for h in res.history]
    assert res.best_epoch == int(np.argmax(aucs)) + 1
    assert res.best_val_auc == max(aucs) > 0.9
    # the model ends with the best epoch's weights, in eval mode
    assert not net.training
    p = T.softmax(predict_logits(net, va))
    assert multiclass_auc(va.y, p) == pytest.approx(res.best_val_auc, abs=1e-9)


def test_training_does_not_touch_global_rng():
    net, tr, va = small_net(), toy_data(40, 0), toy_data(20, 1)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    np_before = np.random.get_state()[1].copy()
    train(net, tr, va, make_loss("ce"), cfg(epochs=1))
    assert torch.equal(torch.get_rng_state(), before)
    assert np.array_equal(np.random.get_state()[1], np_before)


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_resume_after_interruption_is_identical(tmp_path, rnn):
    tr, va = toy_data(80, 0), toy_data(30, 1)
    loss = make_loss("wce", np.array([1.0, 1.2, 0.8]))
    ref = small_net(rnn=rnn)
    res_ref = train(ref, tr, va, loss, cfg(epochs=4))

    ck = tmp_path / "ck.pt"
    first = small_net(rnn=rnn)
    train(first, tr, va, loss, cfg(epochs=2), checkpoint=ck)  # "interrupted" after 2 epochs
    assert ck.exists()
    resumed = small_net(rnn=rnn)  # a fresh process would build the model again
    res = train(resumed, tr, va, loss, cfg(epochs=4), checkpoint=ck, resume=True)
    assert res.resumed_from == 2
    assert len(res.history) == len(res_ref.history) == 4
    assert res.best_epoch == res_ref.best_epoch
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(res.history) == strip(res_ref.history)
    for k, v in ref.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    # checkpoint loads with weights_only
    ck_data = torch.load(ck, weights_only=True)
    assert ck_data["epoch"] == 4
    # resuming a finished run does nothing more
    again = small_net(rnn=rnn)
    res2 = train(again, tr, va, loss, cfg(epochs=4), checkpoint=ck, resume=True)
    assert len(res2.history) == 4


def test_resume_with_other_settings_is_refused(tmp_path):
    tr, va = toy_data(40, 0), toy_data(20, 1)
    ck = tmp_path / "ck.pt"
    train(small_net(), tr, va, make_loss("ce"), cfg(epochs=1), checkpoint=ck)
    with pytest.raises(ModelMismatchError, match="other data or settings"):
        train(small_net(), tr, va, make_loss("ce"), cfg(epochs=2, lr=1e-3), checkpoint=ck, resume=True)
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(ModelMismatchError, match="checkpoint"):
        train(small_net(), tr, va, make_loss("ce"), cfg(epochs=2), checkpoint=tmp_path / "junk.pt", resume=True)


def test_early_stopping(monkeypatch):
    aucs = iter([0.5, 0.7, 0.6, 0.65, 0.69, 0.9, 0.95])
    monkeypatch.setattr(T, "multiclass_auc", lambda y, p: next(aucs))
    res = train(small_net(), toy_data(40, 0), toy_data(20, 1), make_loss("ce"),
                cfg(epochs=7, early_stopping_patience=2))
    assert [h["epoch"] for h in res.history] == [1, 2, 3, 4]
    assert res.best_epoch == 2 and res.stopped_early


def test_config_validation():
    with pytest.raises(InputError, match="batch_size"):
        TrainConfig(batch_size=1)
    with pytest.raises(InputError, match="device"):
        TrainConfig(device="tpu")
    assert T.resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(InputError, match="labels"):
        train(small_net(), SequenceData(np.zeros((3, 2, 3)), [1, 2, 1], np.zeros((3, 2))), toy_data(5), make_loss("ce"))
