"""Adversarial objectives against hand-computed values."""

import pytest
import torch
from torch import nn

from anyshot.errors import ConfigError
from anyshot.nn.critic import AutoEncoderCritic, CriticOutput, ScoreCritic
from anyshot.objectives import make_objective
from anyshot.objectives.ebgan import pull_away_term
from anyshot.objectives.wgan_gp import gradient_penalty


class LinearCritic(nn.Module):
    """D(x, a) = w . x: its gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x, a):
        return CriticOutput(score=x @ self.w)


class FixedEnergy(nn.Module):
    """Returns preset energies and codes for the real batch (first call) and the fake one."""

    def __init__(self, real, fake, code=None):
        super().__init__()
        self.values = {"real": torch.tensor(real), "fake": torch.tensor(fake)}
        self.code = code

    def forward(self, x, a):
        key = "real" if x[0, 0] > 0 else "fake"
        return CriticOutput(energy=self.values[key], code=self.code)


REAL = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
FAKE = torch.tensor([[0.0, 1.0], [2.0, -1.0]])
A = torch.zeros(2, 1)


def critic_loss(obj, critic, real, fake, g, a=A):
    """The critic step's objective loss: critic_loss on the outputs plus the penalty, if any."""
    terms = obj.critic_loss(critic(real, a), critic(fake, a))
    penalty = obj.penalty(critic, real, fake, a, g)
    return terms, penalty, terms.loss + (0.0 if penalty is None else penalty.loss)


def test_wgan_gp_loss_and_zero_penalty_for_unit_gradient():
    g = torch.Generator().manual_seed(0)
    critic = LinearCritic([0.6, 0.8])  # ||w|| = 1
    terms, penalty, loss = critic_loss(make_objective("wgan-gp"), critic, REAL, FAKE, g)
    d_real = (0.6 * 1 + 0.8 * 2 + 0.6 * 3 + 0.8 * 4) / 2  # 3.6
    d_fake = (0.8 * 1 + 0.6 * 2 - 0.8) / 2  # 0.6
    assert penalty.logs["penalty"].item() == pytest.approx(0.0, abs=1e-10)
    assert loss.item() == pytest.approx(d_fake - d_real)
    assert terms.logs["wasserstein"].item() == pytest.approx(d_real - d_fake)


def test_gradient_penalty_is_one_for_gradient_norm_two():
    g = torch.Generator().manual_seed(0)
    critic = LinearCritic([1.2, 1.6])  # ||w|| = 2 -> (2 - 1)^2 = 1
    assert gradient_penalty(critic, REAL, FAKE, A, g).item() == pytest.approx(1.0)
    terms, penalty, loss = critic_loss(make_objective("wgan-gp", gp_weight=10), critic, REAL,
                                       FAKE, g)
    d_real, d_fake = (1.2 + 3.2 + 3.6 + 6.4) / 2, (1.6 + 2.4 - 1.6) / 2
    assert loss.item() == pytest.approx(d_fake - d_real + 10.0)
    assert penalty.loss.item() == pytest.approx(10.0)
    assert terms.loss.item() == pytest.approx(d_fake - d_real)


def test_wgan_loss_and_weight_clipping():
    obj = make_objective("wgan")
    critic = LinearCritic([0.5, -0.25])
    terms, penalty, loss = critic_loss(obj, critic, REAL, FAKE, torch.Generator())
    d_real = (0.5 - 0.5 + 1.5 - 1.0) / 2
    d_fake = (-0.25 + 1.0 + 0.25) / 2
    assert penalty is None
    assert loss.item() == pytest.approx(d_fake - d_real)
    assert obj.generator_loss(critic(FAKE, A)).loss.item() == pytest.approx(-d_fake)
    big = ScoreCritic(4, 2, 8)
    with torch.no_grad():
        for p in big.parameters():
            p.copy_(torch.linspace(-3, 3, p.numel()).reshape(p.shape))
        next(big.parameters()).view(-1)[0] = 0.004  # inside the range: untouched
    obj.after_critic_step(big)
    assert all(p.abs().max() <= 0.01 for p in big.parameters())
    assert next(big.parameters()).view(-1)[0].item() == pytest.approx(0.004)
    make_objective("wgan", clip_value=0.5).after_critic_step(big)  # custom c still bounds
    assert all(p.abs().max() <= 0.5 for p in big.parameters())


def test_ebgan_losses_hand_computed():
    obj = make_objective("ebgan", margin=1.0, pt_weight=0.5)
    codes = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # identical -> PT = 1
    critic = FixedEnergy([0.2, 0.4], [0.5, 2.0], codes)
    terms, penalty, loss = critic_loss(obj, critic, REAL, FAKE - 5, torch.Generator())
    # 0.3 + mean(max(0, 1 - 0.5), max(0, 1 - 2)) = 0.3 + 0.25
    assert penalty is None  # the margin lives in critic_loss, on the outputs
    assert loss.item() == pytest.approx(0.55)
    assert terms.logs["energy_gap"].item() == pytest.approx(1.25 - 0.3)
    g = obj.generator_loss(critic(FAKE - 5, A))
    assert g.loss.item() == pytest.approx(1.25 + 0.5 * 1.0)


def test_pull_away_term():
    assert pull_away_term(torch.eye(3)).item() == pytest.approx(0.0)
    assert pull_away_term(torch.ones(4, 3)).item() == pytest.approx(1.0)
    # codes (1,0), (1,1), (0,1): cos^2 = 1/2, 0, 1/2 for the 3 unordered pairs -> 2 * 1 / 6
    s = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    assert pull_away_term(s).item() == pytest.approx(1.0 / 3.0)
    assert pull_away_term(torch.ones(1, 3)).item() == 0.0


def test_registry_and_errors():
    for name in ("wgan", "wgan-gp", "ebgan", "WGAN_GP"):
        assert make_objective(name).name in {"wgan", "wgan-gp", "ebgan"}
    with pytest.raises(ConfigError, match="valid objectives: ebgan, wgan, wgan-gp"):
        make_objective("hinge")
    with pytest.raises(ConfigError, match="valid parameters: clip_value"):
        make_objective("wgan", lam=3)


def test_default_optimizers():
    p = [nn.Parameter(torch.zeros(2))]
    assert isinstance(make_objective("wgan").default_optimizer.build(p), torch.optim.RMSprop)
    opt = make_objective("wgan-gp").default_optimizer.build(p)
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["betas"] == (0.5, 0.9)
    assert opt.defaults["lr"] == 1e-4


@pytest.mark.parametrize("name", ["wgan", "wgan-gp", "ebgan"])
def test_gradients_reach_critic_and_generator(name):
    obj = make_objective(name)
    torch.manual_seed(0)
    critic = (AutoEncoderCritic if obj.critic_kind == "autoencoder" else ScoreCritic)(4, 2, 8)
    gen = nn.Linear(3, 4)
    z, a, real = torch.randn(6, 3), torch.randn(6, 2), torch.randn(6, 4)
    g = torch.Generator().manual_seed(1)
    critic_loss(obj, critic, real, gen(z).detach(), g, a)[2].backward()
    # every critic weight gets a gradient (a score critic's output bias cancels in
    # E[D(f)] - E[D(r)])
    assert all(p.grad is not None for p in critic.parameters())
    assert all(p.grad.abs().sum() > 0 for n, p in critic.named_parameters() if n.endswith("weight"))
    assert gen.weight.grad is None
    critic.zero_grad()
    obj.generator_loss(critic(gen(z), a)).loss.backward()
    assert gen.weight.grad.abs().sum() > 0
