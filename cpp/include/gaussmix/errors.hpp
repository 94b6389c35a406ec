#pragma once
/** @file errors.hpp
 *  The exceptions the core throws. Bad arguments (shapes, option values) are
 *  std::invalid_argument; a covariance that cannot be factorised is CovProblem.
 */
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

namespace detail {

[[noreturn]] inline void invalid_argument(const std::string& message) {
  throw std::invalid_argument(message);
}

}  // namespace detail
}  // namespace gaussmix
