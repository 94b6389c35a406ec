#pragma once
/** @file errors.hpp
 *  The exceptions the core throws. Bad arguments (shapes, option values) are
 *  std::invalid_argument; a covariance that cannot be factorised is CovProblem;
 *  data that a scoring function cannot score (NaN, infinity) is NonFiniteData.
 */
#include <cstdio>
#include <stdexcept>
#include <string>

namespace gaussmix {

/** A covariance matrix that is not symmetric positive definite (or a component
 *  whose parameters became non-finite). EM callers usually react by restarting
 *  from a new initialisation or by increasing the diagonal regulariser. */
class CovProblem : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/** Data rows holding NaN or infinity, given to a scoring function (scoring.hpp),
 *  which scores finite rows only: found by the scoring pass itself, block by
 *  block as it reads them, so that finite data is read once. A bad argument
 *  like any other (std::invalid_argument); its own type lets a caller that
 *  can score rows with NaN another way (gaussmix's Python estimator, on their
 *  observed entries) tell it apart. */
class NonFiniteData : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {

[[noreturn]] inline void invalid_argument(const std::string& message) {
  throw std::invalid_argument(message);
}

/** value with 6 significant digits ("1e-310", not std::to_string's "0.000000"). */
inline std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

}  // namespace detail
}  // namespace gaussmix
