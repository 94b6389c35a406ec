// The extension module gaussmix._core_<level>: thin bindings over the header-only
// core, built once per CPU level (cmake/cpu_levels.cmake); gaussmix._core loads one.
#include "convert.hpp"
#include "register.hpp"

#include <pybind11/stl.h>

#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX  // windows.h's min and max macros would break std::min and Eigen
#endif
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <dlfcn.h>
#endif
#endif

#ifndef GAUSSMIX_CORE_MODULE  // a build outside CMakeLists.txt: one module for the compiler's flags
#define GAUSSMIX_CORE_MODULE _core_generic
#define GAUSSMIX_CPU_LEVEL "generic"
#define GAUSSMIX_CPU_LEVEL_FLAGS ""
#endif

namespace gaussmix::bindings {

void register_errors(py::module_& m) {
  // CovProblem is PyPR's Cov_problem; gaussmix.gmm re-exports it under that name.
  auto& cov_problem = py::register_exception<CovProblem>(m, "Cov_problem", PyExc_Exception);
  cov_problem.attr("__module__") = "gaussmix.gmm";
  // A ValueError whose own class lets the estimator score rows with NaN on their observed entries instead.
  py::register_exception<NonFiniteData>(m, "NonFiniteData", PyExc_ValueError);
  // A call stopped by python_execution's check: the check left the signal
  // handler's exception (KeyboardInterrupt) set, so it propagates as it is.
  py::class_<StopFlag, std::shared_ptr<StopFlag>>(
      m, "StopFlag", "A stop request that core calls in other Python threads watch (watch_stop): Ctrl-C for them.")
      .def(py::init<>())
      .def("request", [](StopFlag& f) { f.requested.store(true); }, "Stops the calls that watch this flag.")
      .def_property_readonly("requested", [](const StopFlag& f) { return f.requested.load(); });
  m.def(
      "watch_stop", [](std::shared_ptr<StopFlag> flag) { watched_stop = std::move(flag); }, py::arg("flag"),
      "The calling thread's core calls stop (KeyboardInterrupt) once flag is requested; None: signals only.");
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const Cancelled&) {
      if (!PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
    }
  });
}

}  // namespace gaussmix::bindings

namespace {

// The instruction sets the compiler was allowed to use for this module, by its
// predefined macros (names as gaussmix._cpu reports them): the dispatcher's test
// checks that each level requires of the CPU at least these.
std::vector<std::string> compiled_instruction_sets() {
  std::vector<std::string> sets;
  auto add = [&sets](const char* name) { sets.emplace_back(name); };
#if defined(__x86_64__) || defined(_M_X64)
  for (const char* baseline : {"mmx", "fxsr", "sse", "sse2"}) add(baseline);  // x86-64's own
#endif
#ifdef __SSE3__
  add("sse3");
#endif
#ifdef __SSSE3__
  add("ssse3");
#endif
#ifdef __SSE4_1__
  add("sse4_1");
#endif
#ifdef __SSE4_2__
  add("sse4_2");
#endif
#ifdef __MOVBE__
  add("movbe");
#endif
#ifdef __POPCNT__
  add("popcnt");
#endif
#ifdef __XSAVE__
  add("xsave");
#endif
#ifdef __LZCNT__
  add("lzcnt");
#endif
#ifdef __BMI__
  add("bmi1");
#endif
#ifdef __BMI2__
  add("bmi2");
#endif
#ifdef __AVX__
  add("avx");
#endif
#ifdef __FMA__
  add("fma");
#endif
#ifdef __F16C__
  add("f16c");
#endif
#ifdef __AVX2__
  add("avx2");
#endif
#ifdef __AVX512F__
  add("avx512f");
#endif
#ifdef __AVX512DQ__
  add("avx512dq");
#endif
#ifdef __AVX512CD__
  add("avx512cd");
#endif
#ifdef __AVX512BW__
  add("avx512bw");
#endif
#ifdef __AVX512VL__
  add("avx512vl");
#endif
  // Subsets no level asks for: only -march=native may enable them.
#if defined(__AVX512IFMA__) || defined(__AVX512VBMI__) || defined(__AVX512VNNI__) || defined(__AVX512BF16__) || \
    defined(__AVX512FP16__) || defined(__AVX512VBMI2__) || defined(__AVX512BITALG__) || defined(__AVX512VPOPCNTDQ__)
  add("avx512_other");
#endif
  return sets;
}

std::string compiler() {
#if defined(__clang__)
  return "Clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#elif defined(_MSC_VER)
  return "MSVC " + std::to_string(_MSC_FULL_VER);
#else
  return "unknown";
#endif
}

// The file of the OpenMP runtime this module calls (libgomp, libomp, vcomp): the one
// the loader found, or the copy a repaired wheel bundles.
std::string openmp_library() {
#if defined(_OPENMP) && defined(_WIN32)
  HMODULE handle = nullptr;
  char path[MAX_PATH] = {0};
  if (GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                         reinterpret_cast<LPCSTR>(&omp_get_max_threads), &handle) &&
      GetModuleFileNameA(handle, path, MAX_PATH) > 0)
    return path;
#elif defined(_OPENMP)
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&omp_get_max_threads), &info) != 0 && info.dli_fname != nullptr)
    return info.dli_fname;
#endif
  return "";
}

}  // namespace

PYBIND11_MODULE(GAUSSMIX_CORE_MODULE, m) {
  namespace gb = gaussmix::bindings;
  m.doc() = "gaussmix's compiled core. Use the gaussmix package, not this module.";
  gb::register_errors(m);
  gb::register_mixture(m);
  gb::register_stats(m);
  gb::register_em(m);
  gb::register_kmeans(m);
  gb::register_condition(m);
  gb::register_missing(m);
  gb::register_column_summary(m);
  m.def("default_threads", [] { return gaussmix::detail::threads_for(0); },
        "Threads the core uses when n_threads is 0 (1 without OpenMP).");
  m.def("max_threads", &gaussmix::max_threads,
        "The most threads any call runs: 4 per processor, at least 16 (1 without OpenMP).");
  m.attr("has_openmp") =
#ifdef _OPENMP
      true;
  m.attr("openmp_version") = _OPENMP;  // the specification's date, e.g. 201511 for 4.5
#else
      false;
  m.attr("openmp_version") = 0;
#endif
  m.def("openmp_library", &openmp_library, "The file of the OpenMP runtime the core runs on ('' without OpenMP).");
  m.attr("cpu_level") = GAUSSMIX_CPU_LEVEL;
  m.attr("cpu_level_flags") = GAUSSMIX_CPU_LEVEL_FLAGS;
  m.attr("instruction_sets") = compiled_instruction_sets();
  m.attr("eigen_simd") = std::string(Eigen::SimdInstructionSetsInUse());
  m.attr("eigen_version") = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                            std::to_string(EIGEN_MINOR_VERSION);
  m.attr("compiler") = compiler();
}
