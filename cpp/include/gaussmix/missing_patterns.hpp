#pragma once
/** @file missing_patterns.hpp
 *  The rows of a data matrix with missing entries (NaN), grouped by which
 *  entries are missing: the unit of work of everything that handles missing
 *  values (missing.hpp's EM statistics and scores, condition.hpp's
 *  predict_missing), since each pattern's conditionals are factorised once.
 */
#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "detail/config.hpp"
#include "detail/parallel.hpp"

namespace gaussmix {

/** The rows of a data matrix that have a missing entry (NaN), grouped by
 *  their missing pattern, patterns in order of first appearance and rows in
 *  increasing order within each: what missing_stats and missing_log_prob
 *  walk, and predict_missing fills. Rows without NaN are not listed (the
 *  complete-data kernels take them; predict has nothing to fill). */
struct MissingPatterns {
  Index n_rows = 0;  ///< rows of the matrix the patterns were taken from
  Index dim = 0;     ///< its columns
  std::vector<Index> rows;    ///< the rows with a NaN, pattern by pattern
  std::vector<Index> starts;  ///< pattern p's rows are rows[starts[p] .. starts[p + 1])
  std::vector<std::vector<Index>> missing, observed;  ///< pattern p's columns, increasing

  Index n_patterns() const { return static_cast<Index>(missing.size()); }
};

/** The missing patterns of x (see MissingPatterns); O(N D). stop, if given,
 *  is polled every block of rows (Cancelled). */
template <typename Scalar>
MissingPatterns missing_patterns(const DataRef<Scalar>& x, detail::StopCheck* stop = nullptr) {
  const Index n = x.rows(), d = x.cols();
  MissingPatterns out;
  out.n_rows = n;
  out.dim = d;
  std::map<std::string, Index> ids;
  std::vector<std::vector<Index>> members;
  std::string key(static_cast<std::size_t>(d), '\0');
  for (Index i = 0; i < n; ++i) {
    if (stop != nullptr && i % detail::kBlockRows == 0) stop->throw_if_requested();
    bool any = false;
    for (Index j = 0; j < d; ++j) {
      const bool nan = std::isnan(x(i, j));
      key[static_cast<std::size_t>(j)] = nan ? 1 : 0;
      any = any || nan;
    }
    if (!any) continue;
    const auto found = ids.emplace(key, static_cast<Index>(members.size()));
    if (found.second) {
      members.emplace_back();
      out.missing.emplace_back();
      out.observed.emplace_back();
      for (Index j = 0; j < d; ++j) (key[static_cast<std::size_t>(j)] ? out.missing : out.observed).back().push_back(j);
    }
    members[static_cast<std::size_t>(found.first->second)].push_back(i);
  }
  out.starts.push_back(0);
  for (const auto& m : members) {
    out.rows.insert(out.rows.end(), m.begin(), m.end());
    out.starts.push_back(static_cast<Index>(out.rows.size()));
  }
  return out;
}

}  // namespace gaussmix
