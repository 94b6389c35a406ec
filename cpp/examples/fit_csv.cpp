// fit_csv data.csv [K=3] [seed=0]: fits a K-component Gaussian mixture to a CSV file of
// numbers (one row per line; a non-numeric line before the data, a header, is skipped).
#include <gaussmix/gaussmix.hpp>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using Matrix = gaussmix::RowMatrix<double>;

Matrix read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<double> values;
  std::size_t cols = 0;
  for (std::string line; std::getline(in, line);) {
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream cells(line);
    const std::vector<double> row{std::istream_iterator<double>(cells), std::istream_iterator<double>()};
    if ((values.empty() && !cells.eof()) || (row.empty() && cells.eof())) continue;  // header, blank line
    if (cols == 0) cols = row.size();
    if (!cells.eof() || row.size() != cols)
      throw std::runtime_error(path + ": a row that is not " + std::to_string(cols) + " numbers: " + line);
    values.insert(values.end(), row.begin(), row.end());
  }
  if (values.empty()) throw std::runtime_error(path + ": no data");
  return Eigen::Map<const Matrix>(values.data(), static_cast<Eigen::Index>(values.size() / cols), cols);
}

int main(int argc, char** argv) try {
  if (argc < 2) throw std::invalid_argument("usage: fit_csv data.csv [K=3] [seed=0]");
  const Matrix x = read_csv(argv[1]);
  const int k = argc > 2 ? std::stoi(argv[2]) : 3;

  // k-means from k-means++ centres (the seed makes the run repeatable)...
  const Matrix seeds = gaussmix::kmeans_plus_plus<double>(x, k, argc > 3 ? std::stoull(argv[3]) : 0);
  const gaussmix::KMeansResult km = gaussmix::kmeans_lloyd<double>(x, seeds, 100);
  // ...then EM from the k-means centres, equal weights and the data's covariance.
  const Matrix centred = x.rowwise() - x.colwise().mean();
  const std::vector<Eigen::MatrixXd> covs(k, centred.transpose() * centred / static_cast<double>(x.rows()));
  const gaussmix::Mixture<double> start(Eigen::VectorXd::Constant(k, 1.0 / k), km.centres, covs);
  gaussmix::EmOptions<double> options;
  options.diag_add = Eigen::VectorXd::Constant(x.cols(), 1e-6);  // keeps every covariance invertible
  const gaussmix::EmResult<double> fit = gaussmix::fit_em<double>(x, start, options);

  std::cout << "weights: " << fit.mixture.weights().transpose() << "\nmeans (one row per component):\n"
            << fit.mixture.means() << "\nlog-likelihood: " << fit.log_likelihood << "\n";
} catch (const std::exception& e) {
  std::cerr << "fit_csv: " << e.what() << "\n";
  return 1;
}
