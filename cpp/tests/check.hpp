#pragma once
/** @file check.hpp
 *  A tiny test harness: TEST_CASE registers a function, CHECK* record a
 *  failure with file, line and the values involved and go on, run_all()
 *  runs every case (or those named on the command line, or those of one test file)
 *  and returns the exit code. No framework to download, nothing but the standard library.
 */
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace gaussmix_test {

struct Case {
  std::string name;
  std::string suite;  // the file the case is in: "em" for test_em.cpp
  std::function<void()> body;
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

inline int& failures() {
  static int count = 0;
  return count;
}

/** "em" for ".../test_em.cpp" (either slash), the name ctest runs a file's cases by. */
inline std::string suite_of(const std::string& file) {
  const std::size_t slash = file.find_last_of("/\\");
  std::string stem = file.substr(slash == std::string::npos ? 0 : slash + 1);
  if (stem.rfind("test_", 0) == 0) stem = stem.substr(5);
  const std::size_t dot = stem.rfind('.');
  return dot == std::string::npos ? stem : stem.substr(0, dot);
}

struct Registrar {
  Registrar(const char* name, const char* file, std::function<void()> body) {
    registry().push_back({name, suite_of(file), std::move(body)});
  }
};

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::printf("%s:%d: FAILED: %s\n", file, line, what.c_str());  // stdout: in order with the case lines
}

/** |actual - expected| <= abs_tol + rel_tol * |expected|; NaN never passes. */
inline bool near(double actual, double expected, double abs_tol, double rel_tol = 0.0) {
  return std::abs(actual - expected) <= abs_tol + rel_tol * std::abs(expected);
}

template <typename A, typename B>
std::string describe(const char* expr, const A& actual, const B& expected) {
  std::ostringstream out;
  out.precision(17);
  out << expr << "\n    actual:   " << actual << "\n    expected: " << expected;
  return out.str();
}

/** Any streamable value (Eigen matrices included) as text, with all its digits. */
template <typename T>
std::string to_string(const T& value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

/** Runs the registered cases: all of them; or those named in argv[1..]; or, after
 *  `--suite`, those of the files named ("em" for test_em.cpp). The test files share one
 *  executable (cpp/tests/CMakeLists.txt says why), and ctest runs it once per file. */
inline int run_all(int argc, char** argv) {
  std::vector<std::string> names, suites;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--suite" && i + 1 < argc) {
      suites.push_back(argv[++i]);
    } else {
      names.push_back(argv[i]);
    }
  }
  auto listed = [](const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  };
  int ran = 0;
  for (const Case& c : registry()) {
    const bool wanted = (names.empty() && suites.empty()) || listed(names, c.name) || listed(suites, c.suite);
    if (!wanted) continue;
    ++ran;
    const int before = failures();
    try {
      c.body();
    } catch (const std::exception& e) {
      ++failures();
      std::printf("FAILED: the case threw: %s\n", e.what());
    }
    std::printf("[%s] %s\n", failures() == before ? "pass" : "FAIL", c.name.c_str());
    std::fflush(stdout);
  }
  if (ran == 0) {
    std::fprintf(stderr, "no test case matched\n");
    return 1;
  }
  std::printf("%d cases, %d failed checks\n", ran, failures());
  return failures() == 0 ? 0 : 1;
}

}  // namespace gaussmix_test

#define GM_CONCAT_IMPL(a, b) a##b
#define GM_CONCAT(a, b) GM_CONCAT_IMPL(a, b)

/** TEST_CASE("name") { ... } defines and registers one case. */
#define TEST_CASE(name)                                                                          \
  static void GM_CONCAT(test_case_, __LINE__)();                                                 \
  static const gaussmix_test::Registrar GM_CONCAT(test_registrar_, __LINE__)(                   \
      name, __FILE__, &GM_CONCAT(test_case_, __LINE__));                                         \
  static void GM_CONCAT(test_case_, __LINE__)()

#define CHECK(cond)                                           \
  do {                                                        \
    if (!(cond)) gaussmix_test::fail(__FILE__, __LINE__, #cond); \
  } while (0)

/** Checks |actual - expected| <= tol (absolute). */
#define CHECK_NEAR(actual, expected, tol)                                                          \
  do {                                                                                             \
    const double gm_a_ = static_cast<double>(actual), gm_e_ = static_cast<double>(expected);       \
    if (!gaussmix_test::near(gm_a_, gm_e_, (tol)))                                                 \
      gaussmix_test::fail(__FILE__, __LINE__,                                                      \
                          gaussmix_test::describe("CHECK_NEAR(" #actual ", " #expected ", " #tol ")", \
                                                  gm_a_, gm_e_));                                   \
  } while (0)

/** Checks two Eigen matrices have the same shape and max |a - b| <= tol. */
#define CHECK_ALL_NEAR(actual, expected, tol)                                                         \
  do {                                                                                                \
    const Eigen::MatrixXd gm_a_ = (actual), gm_e_ = (expected);                                       \
    if (gm_a_.rows() != gm_e_.rows() || gm_a_.cols() != gm_e_.cols())                                 \
      gaussmix_test::fail(__FILE__, __LINE__, "CHECK_ALL_NEAR(" #actual ", " #expected "): shapes differ"); \
    else if (!((gm_a_ - gm_e_).cwiseAbs().array() <= (tol)).all())                                    \
      gaussmix_test::fail(__FILE__, __LINE__,                                                         \
                          gaussmix_test::describe("CHECK_ALL_NEAR(" #actual ", " #expected ", " #tol ")", \
                                                  "\n" + gaussmix_test::to_string(gm_a_),             \
                                                  "\n" + gaussmix_test::to_string(gm_e_)));           \
  } while (0)

/** Checks that expr throws an exception of type (or derived from) exception_type. */
#define CHECK_THROWS(expr, exception_type)                                                            \
  do {                                                                                                \
    bool gm_caught_ = false;                                                                          \
    try {                                                                                             \
      (void)(expr);                                                                                   \
    } catch (const exception_type&) {                                                                 \
      gm_caught_ = true;                                                                              \
    } catch (const std::exception& gm_e_) {                                                           \
      gaussmix_test::fail(__FILE__, __LINE__,                                                         \
                          std::string(#expr " threw another exception: ") + gm_e_.what());           \
      gm_caught_ = true;                                                                              \
    }                                                                                                 \
    if (!gm_caught_) gaussmix_test::fail(__FILE__, __LINE__, #expr " did not throw " #exception_type); \
  } while (0)
