"""Stepwise EM (Cappé and Moulines 2009; Liang and Klein 2009; for normal
mixtures, Nguyen, Forbes and McLachlan 2020): the update rule of
``GaussianMixture.partial_fit``.

Each batch's E-step statistics (the core's fused pass, as every data source
gives them), averaged per unit of sample weight, are blended into running
averages, s <- (1 - eta_t) s + eta_t s_batch, and the M-step is taken from
the running averages. The step size is

    eta_t = (t + t0) ** -kappa,   0.5 < kappa <= 1,

with t the number of batches blended before this one (so the first batch's
statistics are the running ones: eta_0 = 1) and t0 >= 0 (step_size_offset,
step_size_power on the estimator). kappa in (0.5, 1] is the Robbins-Monro
condition under which the running statistics converge; smaller kappa
forgets old batches faster.

The running averages are kept as the parameters they give without reg_covar
(Running: per unit weight, the components' masses, their means, their
scatter per unit of mass around the means), and blended in that form: two
sets of averaged moments around different centres are re-centred on the
blended means before they are added (the parallel-variance formula), which
keeps the blend exact and free of the cancellation that raw second moments
would suffer far from the origin. The per-model part of that is the
covariance model table's (gaussmix/_covariance.py: mass_weighted,
moved_scatter).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _core
from ._covariance import covariance_model
from ._engine import MaximumLikelihood
from ._mixture import Mixture, mixture_from_core


class Running(NamedTuple):
    """Running E-step statistics per unit weight, as the M-step reads them
    (without reg_covar)."""

    weights: np.ndarray  #: (K,) the components' masses, summing to 1
    means: np.ndarray  #: (K, D)
    covariances: np.ndarray  #: the model's shape: scatter per unit of mass around the means


class Stepwise:
    """The stepwise update rule, applied once per batch (partial_fit): the
    maximum-likelihood rule's start (``initial``), statistics (``ml``),
    their Running form (``averages``), the blend (``blend``) with the step
    size of the schedule (``step_size``), the parameters of running
    statistics (``parameters``) and back (``running_of``: continuing a fit),
    and the batch's lower bound (``batch_bound``). The parameters are a
    Mixture; :class:`StochasticVariational` is the same blend for a
    variational posterior."""

    def __init__(self, covariance_type: str, reg_covar: float, resp_offset: float, power: float, offset: float):
        self.model = covariance_model(covariance_type)
        self.covariance_type, self.reg_covar, self.resp_offset = covariance_type, reg_covar, resp_offset
        self.power, self.offset = power, offset
        self.ml = MaximumLikelihood(reg_covar, resp_offset)

    def step_size(self, t: int) -> float:
        """eta_t: 1 for the first batch (t = 0), else (t + t0) ** -kappa."""
        return 1.0 if t == 0 else float((t + self.offset) ** -self.power)

    def initial(self, start) -> Mixture:
        """The parameters of a start (gaussmix/_starts.py's Start)."""
        return self.ml.initial(start)

    def e_step(self, parameters: Mixture) -> Mixture:
        """The mixture of the parameters' E-step."""
        return parameters

    def statistics(self, source, parameters):
        """The batch's E-step statistics under the parameters (the
        maximum-likelihood rule's, in the kernels' precision their E-step's
        mixture needs)."""
        mixture = self.e_step(parameters)
        return self.ml.statistics(source.for_start(mixture), mixture)

    def batch_bound(self, stats, parameters) -> float:
        """The batch's mean log-likelihood under the parameters it was taken under."""
        return self.ml.lower_bound(stats, parameters)

    def averages(self, stats) -> Running:
        """A batch's statistics per unit weight: the M-step's parameters without reg_covar."""
        weights, means, covariances = _core.m_step_parameters(stats, 0.0, self.resp_offset)
        return Running(np.asarray(weights), np.asarray(means), np.asarray(covariances))

    def running_of(self, mixture: Mixture) -> Running:
        """The running statistics a fitted mixture stands for (its covariances less reg_covar)."""
        return Running(np.array(mixture.weights), np.array(mixture.means),
                       self.model.regularised(np.array(mixture.covariances), -self.reg_covar))

    def blend(self, old: Running, new: Running, eta: float) -> Running:
        """(1 - eta) old + eta new, as moments per unit weight, around the blended means."""
        a, b = (1.0 - eta) * old.weights, eta * new.weights
        weights = a + b
        means = (a[:, None] * old.means + b[:, None] * new.means) / weights[:, None]
        model = self.model
        scatter = ((1.0 - eta) * model.mass_weighted(old.covariances, old.weights)
                   + model.moved_scatter(a, old.means - means)
                   + eta * model.mass_weighted(new.covariances, new.weights)
                   + model.moved_scatter(b, new.means - means))
        return Running(weights / weights.sum(), means, model.from_mass_weighted(scatter, weights))

    def parameters(self, running: Running, total: float) -> Mixture:
        """The M-step of running statistics: their parameters with reg_covar
        (factorised by the core, which refuses a covariance it cannot
        factorise: Cov_problem, as the maximum-likelihood M-step's). total,
        the weight of the rows seen, does not matter to it."""
        return mixture_from_core(_core.FactorisedMixture(
            running.weights, running.means, self.model.regularised(running.covariances, self.reg_covar),
            self.covariance_type))


class StochasticVariational(Stepwise):
    """Stochastic variational inference (Hoffman, Blei, Wang and Paisley
    2013) for BayesianGaussianMixture.partial_fit: the same blend over the
    variational rule (gaussmix/_variational.py).

    The natural parameters of the conjugate posterior are the prior's plus
    N times the expected statistics per unit weight, so SVI's step on them,
    lambda <- (1 - eta) lambda + eta lambda_batch (lambda_batch: the
    posterior as if all N rows were like the batch), is the stepwise blend
    of the running averages followed by the conjugate update of the blended
    averages standing for N rows. N is the weight of every row seen so far
    (a stream's: a row seen twice counts twice), so after one pass over a
    data set the posterior stands for its rows, as batch variational EM's.
    The E-step is the variational one (the posterior's ``e_step`` mixture);
    partial_fit does not prune."""

    def __init__(self, variational, power: float, offset: float):
        super().__init__(variational.covariance_type, variational.ml.reg_covar, variational.ml.resp_offset, power,
                         offset)
        self.variational = variational
        self.priors = variational.priors

    def initial(self, start):
        return self.variational.initial(start)

    def e_step(self, posterior) -> Mixture:
        return posterior.e_step

    def batch_bound(self, stats, posterior) -> float:
        """The batch's mean log-density under the posterior before the step
        (what score gives it: the variational E-step's log normaliser)."""
        return float(stats.log_likelihood / stats.weight_sum) + posterior.log_offset

    def parameters(self, running: Running, total: float):
        """The posterior of the running averages standing for total's weight of rows."""
        return self.variational.posterior(total * running.weights + self.resp_offset, running.means,
                                          self.model.regularised(running.covariances, self.reg_covar))

    def running_of(self, posterior) -> Running:
        """The running averages a posterior stands for (the inverse of the
        conjugate update: Variational.statistics_of)."""
        nk, xk, sk = self.variational.statistics_of(posterior)
        return Running(nk / nk.sum(), xk, self.model.regularised(sk, -self.reg_covar))
