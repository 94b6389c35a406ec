#pragma once
/** @file detail/parallel.hpp
 *  Deterministic row partitioning and the chunk-parallel loop.
 *
 *  Rows are cut into blocks (the unit of cache-resident work) and blocks are
 *  grouped into chunks (the unit of parallel work, each with its own
 *  accumulators). Neither depends on the thread count, and chunk results are
 *  reduced in chunk order, so any thread count gives bit-identical results.
 */
#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>

#include "../execution.hpp"
#include "config.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace gaussmix {
namespace detail {

/** Rows per block: small enough that a block of the data and its whitened copy
 *  stay in L2 for moderate D, large enough that the M-step's dot products
 *  along the rows (row_products.hpp) amortise their final reductions (32
 *  float packets of 16). Measured, 1 thread, s/iter with 256 / 512 / 1024:
 *  5e4 x 64, K = 8, float: 0.031 / 0.029 / 0.029, double 0.051 / 0.050 /
 *  0.052; 1e6 x 8, K = 16, float: 0.026 / 0.023 / 0.024. */
constexpr Index kBlockRows = 512;
/** Upper bound on the number of chunks: enough for load balance on many cores,
 *  few enough that per-chunk accumulators (K D^2 doubles each) stay small. */
constexpr Index kMaxChunks = 64;
/** The EM pass uses fewer chunks when K and D are large (see chunks_for_stats),
 *  but never fewer than this: load balance for up to ~16 threads. */
constexpr Index kMinChunks = 16;
/** What the EM pass's per-chunk accumulators may take in all, in bytes. */
constexpr double kChunkStatsBudget = 32.0 * 1024 * 1024;

/** Chunks for a pass whose accumulators take bytes_per_chunk each: kMaxChunks,
 *  fewer if they would exceed kChunkStatsBudget, at least kMinChunks. Depends
 *  on the problem's shape only, never on the thread count. */
inline Index chunks_for_stats(double bytes_per_chunk) {
  const double fit = kChunkStatsBudget / std::max(bytes_per_chunk, 1.0);
  return fit >= static_cast<double>(kMaxChunks) ? kMaxChunks : std::max(kMinChunks, static_cast<Index>(fit));
}

/** Multiply-adds below which an extra thread is not worth waking (~1 ms of
 *  work): tiny problems run on fewer threads, with the same results. */
constexpr double kMinWorkPerThread = 2e6;

/** The one thread-count rule of every parallel loop: the request (0 or less:
 *  the OpenMP default), never more than max_threads(), and no more threads
 *  than about `work` multiply-adds can keep busy (kMinWorkPerThread each). */
inline int threads_for(int requested, double work = std::numeric_limits<double>::infinity()) {
#ifdef _OPENMP
  const int asked = requested > 0 ? requested : omp_get_max_threads();
  const int threads = std::max(1, std::min(asked, max_threads()));
  const double useful = std::max(1.0, work / kMinWorkPerThread);
  return useful < static_cast<double>(threads) ? static_cast<int>(useful) : threads;
#else
  (void)requested;
  (void)work;
  return 1;
#endif
}

/**
 * A call's view of Execution::should_stop. requested() is cheap enough to ask
 * between any two row blocks on any thread: an atomic load, and on the
 * calling thread a clock read; only there, and at most every
 * kStopPollSeconds, is should_stop itself called. Once it has said stop,
 * every thread sees it at its next block.
 */
class StopCheck {
 public:
  explicit StopCheck(const Execution& execution)
      : poll_(execution.should_stop), caller_(std::this_thread::get_id()) {}

  bool requested() {
    if (stopped_.load(std::memory_order_relaxed)) return true;
    if (!poll_ || std::this_thread::get_id() != caller_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_poll_) return false;
    next_poll_ = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(kStopPollSeconds));
    try {
      if (!poll_()) return false;
    } catch (...) {  // may be inside an OpenMP region, which no exception may leave
      poll_error_ = std::current_exception();
    }
    stopped_.store(true, std::memory_order_relaxed);
    return true;
  }

  /** Whether a stop was seen, without polling. */
  bool stopped() const { return stopped_.load(std::memory_order_relaxed); }

  /** Throws what stopped the call: should_stop's own exception if it threw
   *  one, else Cancelled. */
  [[noreturn]] void throw_stopped() const {
    if (poll_error_) std::rethrow_exception(poll_error_);
    throw Cancelled();
  }

  /** Throws as throw_stopped() if a stop is requested (polls, as requested()). */
  void throw_if_requested() {
    if (requested()) throw_stopped();
  }

 private:
  std::exception_ptr poll_error_;  ///< written by the calling thread before stopped_ is set
  std::function<bool()> poll_;
  std::thread::id caller_;
  std::atomic<bool> stopped_{false};
  std::chrono::steady_clock::time_point next_poll_{};  ///< touched by the calling thread only
};

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/** The fixed cut of n_rows rows into blocks and chunks. */
struct RowPartition {
  Index n_rows = 0;
  Index n_blocks = 0;
  Index n_chunks = 0;

  explicit RowPartition(Index rows, Index max_chunks = kMaxChunks)
      : n_rows(rows),
        n_blocks((rows + kBlockRows - 1) / kBlockRows),
        n_chunks(std::min(n_blocks, max_chunks)) {}

  /** First block of chunk c; chunk c covers blocks [first_block(c), first_block(c+1)). */
  Index first_block(Index c) const { return c * n_blocks / n_chunks; }
  Index block_begin(Index b) const { return b * kBlockRows; }
  Index block_size(Index b) const { return std::min(kBlockRows, n_rows - b * kBlockRows); }
  /** Rows [begin, end) of chunk c. */
  std::pair<Index, Index> chunk_rows(Index c) const {
    return {block_begin(first_block(c)), std::min(block_begin(first_block(c + 1)), n_rows)};
  }
};

/** Runs body(thread, chunk) for every chunk on n_threads threads. An exception
 *  thrown by a body cannot cross the OpenMP region, so the first one is kept
 *  and rethrown after the region ends. Once stop is requested the remaining
 *  chunks are skipped and Cancelled is thrown after the region, before any
 *  other error (bodies that run long check stop.requested() themselves
 *  between blocks). */
template <typename Body>
void parallel_for_chunks(Index n_chunks, int n_threads, StopCheck& stop, Body&& body) {
  std::exception_ptr error;
  std::mutex error_mutex;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
#endif
  for (Index c = 0; c < n_chunks; ++c) {
    if (stop.requested()) continue;
    try {
      body(thread_id(), c);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }
  (void)n_threads;
  // A stop first: from Python the signal handler's exception is already set,
  // and another error must not replace it (em would retry on a CovProblem).
  if (stop.stopped()) stop.throw_stopped();
  if (error) std::rethrow_exception(error);
}

}  // namespace detail
}  // namespace gaussmix
