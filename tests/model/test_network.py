"""The recurrent network: shapes, padding invariance, masked batch norm, incremental stepping."""

import pytest
import torch

from skysift.errors import InputError
from skysift.model import LightCurveRNN


def _net(rnn="gru", n_context=2, use_context=True, units=8, dense=6, n_classes=3, seed=0):
    torch.manual_seed(seed)
    return LightCurveRNN(3, n_context, n_classes, rnn=rnn, rnn_units=units, dense_units=dense,
                         use_context=use_context)


def _batch(n=6, t=12, n_context=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, t, 3, generator=g)
    lengths = torch.randint(1, t + 1, (n,), generator=g)
    lengths[0] = t
    x[torch.arange(t)[None, :] >= lengths[:, None]] = 0.0
    ctx = torch.randn(n, n_context, generator=g)
    return x, lengths, ctx


def _warm_up(net, x, lengths, ctx, steps=3):
    """A few training-mode passes so that the batch-norm running statistics are not trivial."""
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        net(x, lengths, ctx).logsumexp(1).mean().backward()
        opt.step()
    net.eval()


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("n_context,use_context", [(2, True), (2, False), (0, True)])
def test_shapes(rnn, n_context, use_context):
    net = _net(rnn, n_context, use_context)
    x, lengths, ctx = _batch(n_context=n_context)
    for mode in (net.train, net.eval):
        mode()
        logits = net(x, lengths, ctx if n_context else None)
        assert logits.shape == (6, 3)
        logits, emb = net(x, lengths, ctx if n_context else None, return_embeddings=True)
        assert emb["rnn"].shape == (6, 8) and emb["dense"].shape == (6, 6)
        assert torch.isfinite(logits).all()
    with torch.no_grad():
        logits, emb = net(x, lengths, ctx if n_context else None, return_embeddings=True)
    assert logits.shape == (6, 3) and emb["dense"].shape == (6, 6)
    assert net.use_context == (use_context and n_context > 0)


def test_context_is_required_and_checked():
    net = _net()
    x, lengths, ctx = _batch()
    with pytest.raises(InputError, match="context"):
        net(x, lengths, None)
    with pytest.raises(InputError, match="shape"):
        net(x, lengths, ctx[:, :1])
    with pytest.raises(InputError, match="rnn must be"):
        LightCurveRNN(3, 0, 3, rnn="transformer")


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_context_changes_output_only_when_used(rnn):
    x, lengths, ctx = _batch()
    for use in (True, False):
        net = _net(rnn, use_context=use).eval()
        with torch.no_grad():
            a = net(x, lengths, ctx)
            b = net(x, lengths, ctx + 1.0)
        assert (not torch.equal(a, b)) == use


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("grad", [False, True])
def test_padding_never_changes_the_output(rnn, grad):
    net = _net(rnn)
    x, lengths, ctx = _batch()
    _warm_up(net, x, lengths, ctx)
    k = 3  # an object with 4 observations, as given, padded to 30 with zeros, and with garbage after it
    n_obs = 4
    obj = torch.randn(1, n_obs, 3)
    short = obj
    padded = torch.cat([obj, torch.zeros(1, 30 - n_obs, 3)], 1)
    garbage = torch.cat([obj, 1e3 * torch.randn(1, 30 - n_obs, 3)], 1)
    ln = torch.tensor([n_obs])
    c = ctx[k : k + 1]
    with torch.set_grad_enabled(grad):
        outs = [net(v, ln, c) for v in (short, padded, garbage)]
    torch.testing.assert_close(outs[1], outs[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(outs[2], outs[0], atol=1e-6, rtol=0)
    # in a batch with other objects too
    xb = torch.cat([padded, garbage])
    with torch.set_grad_enabled(grad):
        both = net(xb, torch.tensor([n_obs, n_obs]), c.repeat(2, 1))
    torch.testing.assert_close(both[0], both[1], atol=1e-6, rtol=0)
    torch.testing.assert_close(both[0], outs[0][0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_batch_norm_statistics_see_real_steps_only(rnn):
    """In training mode the padded steps change neither the outputs nor the running statistics."""
    x, lengths, ctx = _batch()
    garbage = x.clone()
    pad = torch.arange(x.shape[1])[None, :] >= lengths[:, None]
    garbage[pad] = 50.0
    results = []
    for v in (x, garbage):
        net = _net(rnn)
        net.drop1.p = net.drop2.p = net.drop3.p = 0.0
        net.train()
        out = net(v, lengths, ctx)
        results.append((out, net.bn1.running_mean.clone(), net.bn1.running_var.clone(),
                        net.bn2.running_mean.clone()))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
    # and the statistics equal those of the real steps alone
    net = _net(rnn)
    with torch.no_grad():
        h, _ = net.rnn1(x)
    real = h[~pad]
    expected = 0.9 * torch.zeros(8) + 0.1 * real.mean(0)
    torch.testing.assert_close(results[0][1], expected, atol=1e-6, rtol=1e-5)


def test_l2_penalty_is_keras_style():
    net = _net()
    expected = 0.01 * (net.dense1.weight.pow(2).sum() + net.dense2.weight.pow(2).sum())
    torch.testing.assert_close(net.l2_penalty(0.01), expected)
    with_rnn = net.l2_penalty(0.01, include_rnn=True)
    assert with_rnn > expected
    expected.backward()
    assert net.dense1.bias.grad is None  # biases are not regularised


def test_dropout_generator_makes_training_reproducible():
    x, lengths, ctx = _batch()
    outs = []
    for _ in range(2):
        net = _net()
        net.set_dropout_generator(torch.Generator().manual_seed(5))
        net.train()
        outs.append(net(x, lengths, ctx))
    torch.testing.assert_close(outs[0], outs[1], atol=0, rtol=0)
    net.set_dropout_generator(None)
    assert net.drop1.generator is None


def test_config_rebuilds_the_network():
    net = _net("lstm", use_context=False)
    twin = LightCurveRNN(**net.config())
    twin.load_state_dict(net.state_dict())
    x, lengths, ctx = _batch()
    net.eval(), twin.eval()
    with torch.no_grad():
        torch.testing.assert_close(net(x, lengths, ctx), twin(x, lengths, ctx))
