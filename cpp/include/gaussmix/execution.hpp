#pragma once
/** @file execution.hpp
 *  How a long core call runs: on how many threads, and how it is stopped
 *  early. Every function that loops over rows takes an Execution as its last
 *  argument; an int converts to one, so `log_likelihood(x, mix, 2)` still
 *  means "two threads".
 */
#include <algorithm>
#include <functional>
#include <stdexcept>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace gaussmix {

/** The most threads any call runs: four per processor, at least 16 (without
 *  OpenMP every call runs one, whatever it asks). These loops are compute-bound, so threads beyond the processors
 *  only cost memory (a block workspace each); the slack lets a small machine
 *  still check that many threads give the same results, and the cap keeps a
 *  mistyped count (40000) from exhausting the process. */
inline int max_threads() {
#ifdef _OPENMP
  return std::max(16, 4 * omp_get_num_procs());
#else
  return 16;
#endif
}

/**
 * Threads and cancellation of one call.
 *
 *  - n_threads: 0 (or less) uses the OpenMP default (OMP_NUM_THREADS, else
 *    every processor). Whatever is asked, a call never runs more threads than
 *    max_threads() nor more than its work can use (about 1 ms of work per
 *    thread); results are bit-identical for any thread count.
 *  - should_stop: if set, polled on the calling thread between row blocks,
 *    at most every kStopPollSeconds; when it returns true the call stops
 *    within a few blocks, joins its threads and throws Cancelled, leaving
 *    every output argument it had not finished unspecified and its inputs
 *    untouched. It is never called from a worker thread, so it may use
 *    state of the calling thread (the Python bindings check for Ctrl-C there).
 *    For a stop requested from another thread, poll an std::atomic<bool>.
 *    If should_stop throws, the call stops the same way and rethrows that
 *    exception instead of Cancelled.
 */
struct Execution {
  int n_threads = 0;
  std::function<bool()> should_stop;

  Execution(int threads = 0) : n_threads(threads) {}  // NOLINT: implicit on purpose, see the file comment
  Execution(int threads, std::function<bool()> stop) : n_threads(threads), should_stop(std::move(stop)) {}
};

/** Seconds between two polls of Execution::should_stop: rare enough that a
 *  poll that takes a lock (Python's GIL) costs nothing measurable, frequent
 *  enough that a stop is seen well within a human's patience. */
constexpr double kStopPollSeconds = 0.02;

/** Thrown by a call whose Execution::should_stop returned true. */
class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("gaussmix: the call was cancelled") {}
};

}  // namespace gaussmix
