// The machine's peak multiply-add rate, for the "how close" figures of
// bench/NOTES.md ("Covariance models: arithmetic floors"): every thread runs
// a register-resident loop of independent fused multiply-adds (enough
// accumulators to cover the FMA latency on two pipes), float64 and float32.
//
//   g++ -std=c++17 -O3 -march=native -fopenmp -ffast-math bench/cpp/fma_peak.cpp -o fma_peak
//   (-ffast-math lets GCC vectorise the read loop's sums)
//   ./fma_peak            (all cores; OMP_NUM_THREADS=1 for one)
//
// Prints multiply-adds per second (GFMA/s; one FMA = 2 flops), best of 5,
// and the rate at which the threads read a 512 MiB array (X's floor: EM reads
// X once per iteration), best of 5.
#include <chrono>
#include <cstdio>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

constexpr int kBytes = 64;  // one AVX-512 register; GCC splits it on narrower machines
constexpr int kAccumulators = 12;
constexpr long kSteps = 50'000'000;

template <typename T>
using Vec __attribute__((vector_size(kBytes))) = T;

template <typename T>
double run_thread(T seed) {
  Vec<T> acc[kAccumulators];
  Vec<T> a, b;
  for (int l = 0; l < int(kBytes / sizeof(T)); ++l) {
    a[l] = T(1) + seed * T(1e-9);
    b[l] = T(1e-9);
  }
  for (int i = 0; i < kAccumulators; ++i) acc[i] = a * T(i);
  for (long s = 0; s < kSteps; ++s) {
#pragma GCC unroll 12
    for (int i = 0; i < kAccumulators; ++i) acc[i] = acc[i] * a + b;  // contracted to one FMA
    asm volatile("" : "+v"(a));  // keeps the loop from being folded
  }
  T sum = 0;
  for (int i = 0; i < kAccumulators; ++i)
    for (int l = 0; l < int(kBytes / sizeof(T)); ++l) sum += acc[i][l];
  return double(sum);
}

template <typename T>
void measure(const char* name) {
  double best = 0.0, sink = 0.0;
  int threads = 1;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel reduction(+ : sink)
    {
#ifdef _OPENMP
#pragma omp single
      threads = omp_get_num_threads();
#endif
      sink += run_thread<T>(T(rep));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double fmas = double(threads) * kSteps * kAccumulators * (kBytes / sizeof(T));
    if (fmas / seconds > best) best = fmas / seconds;
  }
  std::printf("%s: %.1f GFMA/s (%.1f GFLOP/s) on %d threads  [%g]\n", name, best / 1e9, 2 * best / 1e9, threads,
              sink);
}

void read_bandwidth() {
  const long n = 64L << 20;  // doubles: 512 MiB
  std::vector<double> x(n);
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) x[i] = double(i & 1023);  // first touch by the thread that reads it
  double best = 0.0, sink = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp parallel for schedule(static) reduction(+ : s0, s1, s2, s3)
    for (long i = 0; i < n; i += 4) {
      s0 += x[i];
      s1 += x[i + 1];
      s2 += x[i + 2];
      s3 += x[i + 3];
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sink += s0 + s1 + s2 + s3;
    if (8.0 * n / seconds > best) best = 8.0 * n / seconds;
  }
  std::printf("read: %.1f GB/s  [%g]\n", best / 1e9, sink);
}

}  // namespace

int main() {
  measure<double>("float64");
  measure<float>("float32");
  read_bandwidth();
  return 0;
}
