#pragma once
// One registration function per core header the module exposes, each in its own file.
// CMake compiles a level's binding files as one translation unit (UNITY_BUILD in
// CMakeLists.txt, for the build time), so a name a file keeps to itself (its anonymous
// namespace) must not be used by another binding file: register_<topic>_for, not register_for.
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
