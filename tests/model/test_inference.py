"""The network's one inference path (FrozenNetwork) against the torch network it was made from."""

import numpy as np
import pytest
import torch

from skysift.errors import ModelMismatchError
from skysift.model.inference import FrozenNetwork, inference_batches, softmax
from skysift.model.network import LightCurveRNN
from tests.model.test_network import _batch, _net, _warm_up


def _torch_probs(net, x, lengths, ctx):
    net.eval()
    with torch.no_grad():
        return torch.softmax(net(x, lengths, ctx), 1).numpy()


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_whole_sequences_equal_the_torch_network(rnn):
    net = _net(rnn, units=10, dense=7)
    x, lengths, ctx = _batch(n=9, t=15)
    lengths[3] = 0
    _warm_up(net, x, lengths.clamp(min=1), ctx)
    frozen = FrozenNetwork(net)
    got = softmax(frozen.logits(x.numpy(), lengths.numpy(), ctx.numpy()))
    np.testing.assert_allclose(got, _torch_probs(net, x, lengths, ctx), atol=1e-6)


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_step_by_step_equals_whole_sequences(rnn):
    net = _net(rnn, units=10, dense=7)
    x, lengths, ctx = _batch(n=7, t=15)
    _warm_up(net, x, lengths, ctx)
    frozen = FrozenNetwork(net)
    state = frozen.zero_state(len(x))
    last = np.zeros((len(x), 10), np.float32)
    for t in range(x.shape[1]):
        out, state = frozen.step(x[:, t].numpy(), state)
        ends = lengths.numpy() == t + 1
        last[ends] = out[ends]
    stepped = softmax(frozen.head(last, ctx.numpy()))
    np.testing.assert_allclose(stepped, softmax(frozen.logits(x.numpy(), lengths.numpy(), ctx.numpy())), atol=1e-6)
    assert len(state) == frozen.n_leaves and all(s.shape == (7, 10) for s in state)


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_each_step_gives_the_logits_of_every_prefix(rnn):
    """One pass of each_step yields, for every step t, the logits logits() gives the first t + 1 steps."""
    net = _net(rnn, units=10, dense=7)
    x, lengths, ctx = _batch(n=9, t=12)
    lengths[2] = 0
    _warm_up(net, x, lengths.clamp(min=1), ctx)
    frozen = FrozenNetwork(net)
    xv, ln, c = x.numpy(), lengths.numpy(), ctx.numpy()
    seen = {}
    for rows, t, lg, _ in frozen.each_step(xv, ln, c):
        assert (ln[rows] > t).all()
        for r, row in zip(rows, lg):
            seen[(int(r), t)] = row
    assert set(seen) == {(i, t) for i in range(len(ln)) for t in range(int(ln[i]))}  # every real step, once
    for t in range(int(ln.max())):
        live = np.flatnonzero(ln > t)
        want = frozen.logits(xv[live], np.full(len(live), t + 1), c[live])
        np.testing.assert_allclose(np.stack([seen[(int(i), t)] for i in live]), want, atol=1e-5)


def test_inference_semantics_whatever_the_torch_mode():
    net = _net("gru")
    x, lengths, ctx = _batch()
    _warm_up(net, x, lengths, ctx)
    net.eval()
    a = FrozenNetwork(net).logits(x.numpy(), lengths.numpy(), ctx.numpy())
    net.train()
    b = FrozenNetwork(net).logits(x.numpy(), lengths.numpy(), ctx.numpy())
    np.testing.assert_array_equal(a, b)


def test_empty_sequence_gets_the_zero_state_summary():
    net = _net()
    x, lengths, ctx = _batch()
    _warm_up(net, x, lengths, ctx)
    lengths[1] = 0
    frozen = FrozenNetwork(net)
    out = frozen.logits(x.numpy(), lengths.numpy(), ctx.numpy())
    empty = frozen.head(frozen.bn2[1][None, :].copy(), ctx[1:2].numpy())
    np.testing.assert_allclose(out[1:2], empty, atol=1e-6)
    assert np.isfinite(out).all()


def test_embeddings_and_head_statistics():
    torch.manual_seed(0)
    net = LightCurveRNN(5, 2, 3, rnn_units=6, dense_units=4, n_head_stats=2)
    x, lengths, ctx = _batch(n=8, t=10)
    x = torch.cat([x, torch.randn(8, 10, 2)], dim=2)
    _warm_up(net, x, lengths, ctx)
    frozen = FrozenNetwork.check(net)
    logits, emb = frozen.logits(x.numpy(), lengths.numpy(), ctx.numpy(), embeddings=True)
    net.eval()
    with torch.no_grad():
        ref, ref_emb = net(x, lengths, ctx, return_embeddings=True)
    np.testing.assert_allclose(logits, ref.numpy(), atol=1e-5)
    np.testing.assert_allclose(emb["rnn"], ref_emb["rnn"].numpy(), atol=1e-5)
    np.testing.assert_allclose(emb["dense"], ref_emb["dense"].numpy(), atol=1e-5)


def test_check_refuses_what_it_cannot_run():
    with pytest.raises(ModelMismatchError):
        FrozenNetwork(torch.nn.Linear(2, 2))


def test_inference_batches_cover_every_row_once():
    lengths = np.array([3, 1, 3, 2, 0, 5, 1, 1])
    batches = inference_batches(lengths, 3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    assert all(len(b) <= 3 for b in batches)


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_compiled_twins_equal_the_numpy_functions(rnn):
    """One observation runs through numba twins compiled from the same functions: same numbers."""
    from skysift.model import inference

    twins = inference.compiled_twins()
    if twins is None:
        pytest.skip("numba is not installed: one code path only")
    rng = np.random.default_rng(0)
    u, n_in = 6, 4
    wih, bih = rng.normal(size=(n_in, 4 * u)).astype(np.float32), rng.normal(size=4 * u).astype(np.float32)
    whh, bhh = rng.normal(size=(u, 4 * u)).astype(np.float32), rng.normal(size=4 * u).astype(np.float32)
    g = 3 if rnn == "gru" else 4
    p = (wih[:, : g * u].copy(), bih[: g * u].copy(), whh[:, : g * u].copy(), bhh[: g * u].copy())
    for n in (1, 2):
        x = rng.normal(size=(n, n_in)).astype(np.float32)
        state = [rng.normal(size=(n, u)).astype(np.float32) for _ in range(g - 2)]
        name = f"{rnn}_layer"
        got, ref = twins[name](x, *p, *state), getattr(inference, name)(x, *p, *state)
        for a, b in zip(got if rnn == "lstm" else [got], ref if rnn == "lstm" else [ref]):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, atol=1e-6)
    net = LightCurveRNN(5, 2, 3, rnn=rnn, rnn_units=6, dense_units=4, n_head_stats=2)
    x, lengths, ctx = _batch(n=4, t=6)
    x = torch.cat([x, torch.randn(4, 6, 2)], dim=2)
    _warm_up(net, x, lengths, ctx)
    frozen = FrozenNetwork(net)
    r = rng.normal(size=(1, 6)).astype(np.float32)
    args = (r, ctx[:1].numpy(), x[:1, 0, -2:].numpy().copy(), *frozen._head_weights)
    for a, b in zip(twins["dense_head"](*args), inference.dense_head(*args)):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_one_object_at_a_time_equals_whole_sequences(rnn):
    """The stream's case (one row per step, the compiled twins) against a batch of whole sequences
    (NumPy; each object stops at its own last step)."""
    net = _net(rnn, units=10, dense=7)
    x, lengths, ctx = _batch(n=7, t=15)
    lengths[2] = 0
    _warm_up(net, x, lengths.clamp(min=1), ctx)
    frozen = FrozenNetwork(net)
    batch = frozen.logits(x.numpy(), lengths.numpy(), ctx.numpy())
    for i in range(len(x)):
        state = frozen.zero_state(1)
        out = frozen.bn2[1][None, :].copy()  # the summary of an empty sequence
        for t in range(int(lengths[i])):
            out, state = frozen.step(x[i : i + 1, t].numpy(), state)
        np.testing.assert_allclose(frozen.head(out, ctx[i : i + 1].numpy()), batch[i : i + 1], atol=1e-5)


def test_threads_over_chunks_give_the_same_logits(monkeypatch):
    from skysift.model import inference

    net = _net("gru", units=10, dense=7)
    x, lengths, ctx = _batch(n=40, t=12)
    _warm_up(net, x, lengths, ctx)
    frozen = FrozenNetwork(net)
    monkeypatch.setattr(inference, "THREADS", 1)
    one = frozen.logits(x.numpy(), lengths.numpy(), ctx.numpy(), batches=inference_batches(lengths.numpy(), 8))
    for threads in (3, None):  # None (the default): the cores this process may use
        monkeypatch.setattr(inference, "THREADS", threads)
        many = frozen.logits(x.numpy(), lengths.numpy(), ctx.numpy(), batches=inference_batches(lengths.numpy(), 8))
        np.testing.assert_array_equal(one, many)


def test_set_process_threads_gives_torch_the_walk_and_the_chunks_their_share(monkeypatch):
    """A process running one of several fits (study.search's workers) gives all three the same share; a Dask
    worker (chunk_threads=1) keeps the chunks on one thread."""
    import torch

    from skysift.model import boost, inference

    monkeypatch.setattr(inference, "THREADS", None)
    monkeypatch.setattr(boost, "WALK_THREADS", None)
    before = torch.get_num_threads()
    try:
        inference.set_process_threads(2)
        assert (torch.get_num_threads(), boost.WALK_THREADS, inference.THREADS) == (2, 2, 2)
        inference.set_process_threads(0, chunk_threads=1)  # at least one thread
        assert (torch.get_num_threads(), boost.WALK_THREADS, inference.THREADS) == (1, 1, 1)
    finally:
        torch.set_num_threads(before)
