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
    maximum-likelihood rule's start (``initial``), statistics and lower
    bound (``ml``), their Running form (``averages``), the blend (``blend``)
    with the step size of the schedule (``step_size``) and the parameters of
    running statistics (``mixture``)."""

    def __init__(self, covariance_type: str, reg_covar: float, resp_offset: float, power: float, offset: float):
        self.model = covariance_model(covariance_type)
        self.covariance_type, self.reg_covar, self.resp_offset = covariance_type, reg_covar, resp_offset
        self.power, self.offset = power, offset
        self.ml = MaximumLikelihood(reg_covar, resp_offset)

    def step_size(self, t: int) -> float:
        """eta_t: 1 for the first batch (t = 0), else (t + t0) ** -kappa."""
        return 1.0 if t == 0 else float((t + self.offset) ** -self.power)

    def statistics(self, source, mixture: Mixture):
        """The batch's E-step statistics under mixture (the maximum-likelihood
        rule's, in the kernels' precision that mixture needs)."""
        return self.ml.statistics(source.for_start(mixture), mixture)

    def averages(self, stats) -> Running:
        """A batch's statistics per unit weight: the M-step's parameters without reg_covar."""
        weights, means, covariances = _core.m_step_parameters(stats, 0.0, self.resp_offset)
        return Running(np.asarray(weights), np.asarray(means), np.asarray(covariances))

    def of_mixture(self, mixture: Mixture) -> Running:
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

    def mixture(self, running: Running) -> Mixture:
        """The M-step of running statistics: their parameters with reg_covar
        (factorised by the core, which refuses a covariance it cannot
        factorise: Cov_problem, as the maximum-likelihood M-step's)."""
        return mixture_from_core(_core.FactorisedMixture(
            running.weights, running.means, self.model.regularised(running.covariances, self.reg_covar),
            self.covariance_type))
