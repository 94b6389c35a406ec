#pragma once
// One registration function per core header the module exposes.
#include <pybind11/pybind11.h>

namespace gaussmix::bindings {
void register_errors(pybind11::module_& m);
void register_mixture(pybind11::module_& m);
void register_stats(pybind11::module_& m);
void register_em(pybind11::module_& m);
void register_kmeans(pybind11::module_& m);
void register_condition(pybind11::module_& m);
void register_missing(pybind11::module_& m);
void register_column_summary(pybind11::module_& m);
}  // namespace gaussmix::bindings
