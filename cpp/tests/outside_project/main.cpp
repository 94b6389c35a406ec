#include <gaussmix/gaussmix.hpp>
#include <iostream>

int main() {
  gaussmix::RowMatrix<double> x(6, 1);  // one observation per row
  x << -2.1, -1.9, -2.0, 3.0, 3.2, 2.8;
  gaussmix::RowMatrix<double> means(2, 1);  // starting means, one component per row
  means << -1.0, 1.0;
  const gaussmix::Mixture<double> start(Eigen::Vector2d(0.5, 0.5), means,
                                        {Eigen::MatrixXd::Identity(1, 1), Eigen::MatrixXd::Identity(1, 1)});
  const auto fit = gaussmix::fit_em<double>(x, start, {});
  std::cout << "weights: " << fit.mixture.weights().transpose() << "\n"
            << "means: " << fit.mixture.means().transpose() << "\n";
}
