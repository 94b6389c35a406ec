#pragma once
// The mixture Python holds: factorised once, for the kernels of either precision. No numerics here.
#include <optional>
#include <utility>

#include <gaussmix/gaussmix.hpp>

namespace gaussmix::bindings {

/**
 * A Mixture as gaussmix.Mixture keeps it: factorised when it is made (the
 * double kernels' caches) and, on the first float data, once more for the
 * float kernels, then kept. Scoring and statistics calls use these caches
 * instead of building and factorising a Mixture from arrays per call; an
 * M-step's or a fit's result is wrapped as the core made it. Not thread-safe:
 * the float caches are made with the GIL held.
 */
class FactorisedMixture {
 public:
  explicit FactorisedMixture(Mixture<double> mix) : double_(std::move(mix)) {}
  /** A float fit's result: its float caches kept, the double ones made from the same parameters. */
  explicit FactorisedMixture(Mixture<float> mix)
      : double_(detail::remade<double>(mix, mix.weights())), float_(std::move(mix)) {}

  /** The parameters (the double kernels' mixture). */
  const Mixture<double>& mixture() const { return double_; }

  /** The mixture for kernels in precision Scalar. */
  template <typename Scalar>
  const Mixture<Scalar>& kernels() {
    if constexpr (std::is_same_v<Scalar, double>) {
      return double_;
    } else {
      if (!float_) float_.emplace(detail::remade<float>(double_, double_.weights()));
      return *float_;
    }
  }

 private:
  Mixture<double> double_;
  std::optional<Mixture<float>> float_;
};

}  // namespace gaussmix::bindings
