// EM (em.hpp) and the statistics API: block statistics (accumulate.hpp), merge (sufficient_stats.hpp), M-step
// (m_step.hpp).
#include <pybind11/functional.h>

#include <limits>

#include "convert.hpp"
#include "factorised.hpp"
#include "register.hpp"

namespace gaussmix::bindings {
namespace {

/** diag_add from Python: empty, or (D,). */
Eigen::VectorXd diag_add_vector(const DoubleArray& diag_add, Index d) {
  if (diag_add.size() == 0) return Eigen::VectorXd();
  if (diag_add.ndim() != 1 || diag_add.shape(0) != d)
    throw std::invalid_argument("diag_add must have shape (D,) or be empty");
  return Eigen::Map<const Eigen::VectorXd>(diag_add.data(), d);
}

/** mix's E-step statistics of the rows of x (accumulate_stats, or around the
 *  given shifts: accumulate_stats_around), the GIL released for the pass. */
template <typename Scalar>
SufficientStats statistics(const Mixture<Scalar>& mix, const DataRef<Scalar>& x, const py::object& sample_weight,
                           int n_threads, const py::object& shifts, bool check_finite = false) {
  const SampleWeights w(sample_weight, x.rows());
  const auto around = optional_shifts(shifts);
  py::gil_scoped_release release;  // reads only C++ objects and the X and weight buffers
  if (around)
    return accumulate_stats_around<Scalar>(x, mix, *around, python_execution(n_threads), w.ref(), check_finite);
  return accumulate_stats<Scalar>(x, mix, python_execution(n_threads), w.ref(), check_finite);
}

/** The one binding of the statistics under a given assignment of the rows
 *  (responsibilities or labels, of type Assignment; stats_of: the core's
 *  responsibility_stats or label_stats), around given shifts. */
template <typename Scalar, typename Assignment, typename StatsOf>
void def_assignment_stats(py::module_& m, const char* name, const char* assignment_name, bool exact_type,
                          StatsOf stats_of, const char* doc) {
  m.def(
      name,
      [stats_of](const DataRef<Scalar>& x, const Assignment& assignment, const std::string& covariance_type,
                 const MeansRef& shifts, const py::object& sample_weight, int n_threads) {
        const SampleWeights w(sample_weight, x.rows());
        const CovarianceType type = covariance_type_from_name(covariance_type);
        const RowMatrix<double> s(shifts);
        py::gil_scoped_release release;  // reads only C++ objects and the X, assignment and weight buffers
        return stats_of(x, assignment, type, s, python_execution(n_threads), w.ref());
      },
      py::arg("X").noconvert(), py::arg(assignment_name).noconvert(exact_type), py::arg("covariance_type"),
      py::arg("shifts"), py::arg("sample_weight"), py::arg("n_threads"), doc);
}

template <typename Scalar>
void register_em_for(py::module_& m) {
  // Everything after the mixture by keyword, with EmOptions' defaults (PyPR's rule): no magic positional values.
  const EmOptions<Scalar> defaults;
  m.def(
      "fit_em",
      [](const DataRef<Scalar>& x, const DoubleArray& weights, const MeansRef& means,
         const DoubleArray& covariances, const std::string& covariance_type, int max_iter, double delta_stop,
         int delta_stop_count_end, const py::object& diag_add, int n_threads, const py::object& callback,
         const py::object& sample_weight, double reg_covar, bool average_log_likelihood,
         double previous_log_likelihood, double resp_offset) {
        EmOptions<Scalar> options;
        options.max_iter = max_iter;
        options.delta_stop = delta_stop;
        options.delta_stop_count_end = delta_stop_count_end;
        options.execution = python_execution(n_threads);
        if (!diag_add.is_none()) options.diag_add = diag_add_vector(diag_add.cast<DoubleArray>(), means.cols());
        options.reg_covar = reg_covar;
        options.average_log_likelihood = average_log_likelihood;
        options.previous_log_likelihood = previous_log_likelihood;
        options.resp_offset = resp_offset;
        if (!callback.is_none()) {
          // Runs on the calling thread between iterations, outside any parallel
          // region; the GIL is taken back for the Python call only. callback is
          // captured by reference, so no reference count changes without the GIL.
          options.callback = [&callback](int iteration, double loglik, const Mixture<Scalar>& updated) {
            py::gil_scoped_acquire gil;
            py::tuple params = mixture_to_arrays(updated);
            callback(params[0], params[1], params[2], iteration, loglik);
          };
        }
        const SampleWeights w(sample_weight, x.rows());
        Mixture<Scalar> init = make_mixture<Scalar>(weights, means, covariances, covariance_type);
        EmResult<Scalar> result = [&] {
          // The loop reads only C++ objects and the X and weight buffers, which the arguments keep alive.
          py::gil_scoped_release release;
          return fit_em<Scalar>(x, std::move(init), options, w.ref());
        }();
        DoubleArray history(static_cast<py::ssize_t>(result.log_likelihoods.size()));
        std::copy(result.log_likelihoods.begin(), result.log_likelihoods.end(), history.mutable_data());
        return py::make_tuple(FactorisedMixture(std::move(result.mixture)), result.log_likelihood, result.n_iter,
                              result.converged, result.weight_sum, history);
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"), py::kw_only(),
      py::arg("covariance_type") = "full", py::arg("max_iter") = defaults.max_iter,
      py::arg("delta_stop") = defaults.delta_stop, py::arg("delta_stop_count_end") = defaults.delta_stop_count_end,
      py::arg("diag_add") = py::none(), py::arg("n_threads") = defaults.execution.n_threads,
      py::arg("callback") = py::none(), py::arg("sample_weight") = py::none(),
      py::arg("reg_covar") = defaults.reg_covar, py::arg("average_log_likelihood") = defaults.average_log_likelihood,
      py::arg("previous_log_likelihood") = defaults.previous_log_likelihood,
      py::arg("resp_offset") = defaults.resp_offset,
      "EM from the given parameters (the options by keyword: EmOptions', PyPR's rule by default); returns "
      "(mixture (a FactorisedMixture, as the last M-step made it), log_likelihood, n_iter, converged, weight_sum, "
      "log_likelihoods (n_iter,)). "
      "diag_add: (D,) or None; callback(weights, means, covariances, iteration, log_likelihood) or None.");
  const char* accumulate_doc =
      "E-step statistics of the rows of X (a SufficientStats); shifts (K, D): every component's around its row "
      "(a retake that recentred_shifts asked for), None: around the mixture's.";
  m.def(
      "accumulate_stats",
      [](const DataRef<Scalar>& x, const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         const std::string& covariance_type, const py::object& sample_weight, int n_threads,
         const py::object& shifts) {
        return statistics(make_mixture<Scalar>(weights, means, covariances, covariance_type), x, sample_weight,
                          n_threads, shifts);
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("covariance_type"), py::arg("sample_weight"), py::arg("n_threads"), py::arg("shifts") = py::none(),
      accumulate_doc);
  py::class_<FactorisedMixture>(m.attr("FactorisedMixture"))
      .def(
          "accumulate_stats",
          [](FactorisedMixture& self, const DataRef<Scalar>& x, const py::object& sample_weight, int n_threads,
             const py::object& shifts, bool check_finite) {
            return statistics(self.kernels<Scalar>(), x, sample_weight, n_threads, shifts, check_finite);
          },
          py::arg("X").noconvert(), py::arg("sample_weight"), py::arg("n_threads"), py::arg("shifts") = py::none(),
          py::arg("check_finite") = false,
          "E-step statistics of the rows of X (a SufficientStats); shifts (K, D): every component's around its row "
          "(a retake that recentred_shifts asked for), None: around the mixture's; check_finite: raise "
          "NonFiniteData on a row with NaN or infinity, found as the pass reads it.");
  def_assignment_stats<Scalar, Eigen::Ref<const RowMatrix<double>>>(
      m, "responsibility_stats", "resp", false,
      [](const auto&... args) { return responsibility_stats<Scalar>(args...); },
      "Statistics of the rows of X under the given (N, K) responsibilities, around shifts (K, D).");
  def_assignment_stats<Scalar, Eigen::Ref<const Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>>>(
      m, "label_stats", "labels", true, [](const auto&... args) { return label_stats<Scalar>(args...); },
      "Statistics of the rows of X under a hard assignment (labels (N,) int64 in -1..K-1), around shifts (K, D).");
}

}  // namespace

void register_em(py::module_& m) {
  register_em_for<double>(m);
  m.attr("MAX_RECENTRING") = detail::kMaxRecentring;
  // Statistics are double whatever the data's precision: one merge, one M-step
  // (whose mixture is returned as the core made it, factorised: a FactorisedMixture).
  m.def(
      "m_step",
      [](const SufficientStats& s, const DoubleArray& diag_add, double reg_covar, double resp_offset) {
        return FactorisedMixture(m_step<double>(s, diag_add_vector(diag_add, s.first.cols()), reg_covar, resp_offset));
      },
      py::arg("stats"), py::arg("diag_add"), py::arg("reg_covar"), py::arg("resp_offset") = 0.0,
      "The mixture (a FactorisedMixture) that the M-step makes of the statistics.");
  m.def(
      "m_step_parameters",
      [](const SufficientStats& s, double reg_covar, double resp_offset) {
        const MStepParameters p = m_step_parameters(s, Eigen::VectorXd(), reg_covar, resp_offset);
        const Index k = p.means.rows(), d = p.means.cols();
        DoubleArray weights(k), means({k, d});
        Eigen::Map<Eigen::VectorXd>(weights.mutable_data(), k) = p.weights;
        view(means) = p.means;
        return py::make_tuple(weights, means, covariance_array(p.covariance_type, p.covariances, p.variances, k, d));
      },
      py::arg("stats"), py::arg("reg_covar"), py::arg("resp_offset") = 0.0,
      "The M-step's (weights, means, covariances in the model's shape) as arrays, nothing factorised: a "
      "covariance need not be positive definite (the variational rule adds its prior's scale to it).");
  m.def(
      "m_step_means",
      [](const SufficientStats& stats, double resp_offset) {
        const WeightsAndMeans wm = m_step_means(stats, resp_offset);
        const Index k = wm.means.rows(), d = wm.means.cols();
        DoubleArray weights(k), means({k, d});
        Eigen::Map<Eigen::VectorXd>(weights.mutable_data(), k) = wm.weights;
        view(means) = wm.means;
        return py::make_tuple(weights, means);
      },
      py::arg("stats"), py::arg("resp_offset") = 0.0, "The M-step's (weights, means) of the statistics, without covariances.");
  m.def(
      "recentred_shifts",
      [](const SufficientStats& stats, double resp_offset, bool float_kernels) -> py::object {
        RowMatrix<double> shifts;
        const bool retake = float_kernels ? recentred_shifts<float>(stats, resp_offset, shifts)
                                          : recentred_shifts<double>(stats, resp_offset, shifts);
        if (!retake) return py::none();
        DoubleArray out({shifts.rows(), shifts.cols()});
        view(out) = shifts;
        return std::move(out);
      },
      py::arg("stats"), py::arg("resp_offset"), py::arg("float_kernels"),
      "None, or the shifts (K, D) to retake the statistics around because their M-step would cancel (the "
      "components' new means where it would); float_kernels: the statistics came from float32 data.");
  register_em_for<float>(m);
}

}  // namespace gaussmix::bindings
