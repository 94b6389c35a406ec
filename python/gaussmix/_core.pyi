"""Type stubs of the compiled core (cpp/bindings; gaussmix._core loads the build for
this CPU, gaussmix._core_<level>). X is float64 or float32, C-contiguous."""
from typing import Callable, Optional

from ._cpu_dispatch import LevelChoice

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

class Cov_problem(Exception): ...

has_openmp: bool
openmp_version: int  # _OPENMP: the specification's date, 0 without OpenMP
cpu_level: str  # the level this module was built for
cpu_level_flags: str  # its compiler flags
instruction_sets: list[str]  # those the compiler could use, as gaussmix._cpu names them
eigen_simd: str
eigen_version: str
compiler: str
level_choice: LevelChoice  # set by gaussmix._core: what the level was chosen from

def openmp_library() -> str: ...

def max_threads() -> int: ...
def log_prob_components(
    X: FloatArray, weights: F64, means: F64, covariances: F64, n_threads: int = 0, covariance_type: str = "full",
    float32_output: bool = False,
) -> FloatArray: ...
def responsibilities(
    X: FloatArray, weights: F64, means: F64, covariances: F64, n_threads: int = 0, covariance_type: str = "full",
    float32_output: bool = False,
) -> FloatArray: ...
def log_density(
    X: FloatArray, weights: F64, means: F64, covariances: F64, n_threads: int = 0, covariance_type: str = "full",
    float32_output: bool = False,
) -> FloatArray: ...
def log_likelihood(
    X: FloatArray, weights: F64, means: F64, covariances: F64, n_threads: int = 0, covariance_type: str = "full"
) -> float: ...
def assign_to_component(
    X: FloatArray, weights: F64, means: F64, covariances: F64, n_threads: int = 0, covariance_type: str = "full"
) -> I64: ...
def fit_em(
    X: FloatArray,
    weights: F64,
    means: F64,
    covariances: F64,
    *,
    covariance_type: str = "full",
    max_iter: int = 50,
    delta_stop: float = 1e-6,
    delta_stop_count_end: int = 10,
    diag_add: Optional[F64] = None,
    n_threads: int = 0,
    callback: Optional[Callable[[F64, F64, F64, int, float], None]] = None,
    sample_weight: Optional[F64] = None,
    reg_covar: float = 0.0,
    average_log_likelihood: bool = False,
    previous_log_likelihood: float = ...,  # NaN
    resp_offset: float = 0.0,
) -> tuple[F64, F64, F64, float, int, bool, float, F64]: ...

class SufficientStats:
    """The additive statistics of an E-step (gaussmix.SufficientStats); arrays read-only."""

    def __init__(
        self, *, covariance_type: str, shift: npt.ArrayLike, resp_sum: npt.ArrayLike, first: npt.ArrayLike,
        second: npt.ArrayLike, log_likelihood: float, weight_sum: float, n_rows: int, mixture_fingerprint: int,
    ) -> None: ...
    @property
    def covariance_type(self) -> str: ...
    @property
    def shift(self) -> F64: ...
    @property
    def resp_sum(self) -> F64: ...
    @property
    def first(self) -> F64: ...
    @property
    def second(self) -> F64: ...
    @property
    def log_likelihood(self) -> float: ...
    @property
    def weight_sum(self) -> float: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def mixture_fingerprint(self) -> int: ...
    def __add__(self, other: SufficientStats) -> SufficientStats: ...
    def __eq__(self, other: object) -> bool: ...
    def __getstate__(self) -> tuple[str, F64, F64, F64, F64, float, float, int, int]: ...

def check_mixture(weights: F64, means: F64, covariances: F64, covariance_type: str) -> None: ...
def accumulate_stats(
    X: FloatArray, weights: F64, means: F64, covariances: F64, covariance_type: str,
    sample_weight: Optional[F64], n_threads: int, shifts: Optional[F64] = None,
) -> SufficientStats: ...
def responsibility_stats(
    X: FloatArray, resp: F64, covariance_type: str, shifts: F64, sample_weight: Optional[F64], n_threads: int
) -> SufficientStats: ...
def label_stats(
    X: FloatArray, labels: I64, covariance_type: str, shifts: F64, sample_weight: Optional[F64], n_threads: int
) -> SufficientStats: ...
def merge_stats(stats: list[SufficientStats]) -> SufficientStats: ...
def m_step(stats: SufficientStats, diag_add: F64, reg_covar: float, resp_offset: float = 0.0) -> tuple[F64, F64, F64]: ...
def m_step_means(stats: SufficientStats, resp_offset: float = 0.0) -> tuple[F64, F64]: ...
def recentred_shifts(stats: SufficientStats, resp_offset: float, float_kernels: bool) -> Optional[F64]: ...

MAX_RECENTRING: int
def kmeans_lloyd(
    X: FloatArray,
    centres: F64,
    max_iter: int,
    delta_stop: float,
    n_threads: int,
    sample_weight: Optional[npt.ArrayLike] = None,
    *,
    shift_tol: float = -1.0,
    relocate_empty: bool = False,
) -> tuple[I64, F64, int]: ...
def kmeans_plus_plus(
    X: FloatArray,
    k: int,
    uniforms: F64,
    n_local_trials: int,
    n_threads: int,
    sample_weight: Optional[npt.ArrayLike] = None,
) -> tuple[F64, I64]: ...
def nearest_centres(X: FloatArray, centres: F64, n_threads: int) -> I64: ...
def marginal(weights: F64, means: F64, covariances: F64, dims: list[int]) -> tuple[F64, F64, F64]: ...
def condition(weights: F64, means: F64, covariances: F64, observed: list[int], values: F64) -> tuple[F64, F64, F64]: ...
def predict_missing(X: F64, weights: F64, means: F64, covariances: F64, n_threads: int = 0) -> tuple[I64, F64]: ...
class MissingPatterns:
    """The rows of a matrix that have a NaN, grouped by missing pattern."""

    @property
    def rows(self) -> I64: ...
    @property
    def n_patterns(self) -> int: ...
    @property
    def shape(self) -> tuple[int, int]: ...
    def observed(self, pattern: int) -> list[int]: ...

def missing_patterns(X: FloatArray) -> MissingPatterns: ...
def missing_stats(
    X: FloatArray, patterns: MissingPatterns, weights: F64, means: F64, covariances: F64, covariance_type: str,
    shifts: F64, sample_weight: Optional[F64], n_threads: int, reg_covar: float,
) -> SufficientStats: ...
def complete_row_stats(
    X: FloatArray, weights: F64, means: F64, covariances: F64, covariance_type: str, reg_covar: float,
    sample_weight: Optional[F64], n_threads: int, shifts: Optional[F64] = None,
) -> SufficientStats: ...
def missing_log_prob(
    X: FloatArray, patterns: MissingPatterns, weights: F64, means: F64, covariances: F64, covariance_type: str,
    n_threads: int,
) -> F64: ...
def pairwise(means: F64, covariances: F64, measure: str) -> F64: ...
class ColumnSummary:
    """Per-column counts, extremes and moments of a data matrix (column_summary); arrays read-only."""

    @property
    def n_rows(self) -> int: ...
    @property
    def nan_count(self) -> I64: ...
    @property
    def finite_count(self) -> I64: ...
    @property
    def has_inf(self) -> npt.NDArray[np.bool_]: ...
    @property
    def min(self) -> F64: ...
    @property
    def max(self) -> F64: ...
    @property
    def mean(self) -> F64: ...
    @property
    def variance(self) -> F64: ...

def column_summary(X: FloatArray, n_threads: int) -> ColumnSummary: ...
