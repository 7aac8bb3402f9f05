// Shared by the bench programs: the --quick flag, a seeded generator, a steady-clock stopwatch
// and the counter bench/report.py turns into RATE lines. Header-only; any thread.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

namespace rill::bench {

/// True when argv holds --quick (the CI smoke size); removes it so Google Benchmark does not
/// reject it as an unknown flag.
inline bool take_quick_flag(int& argc, char** argv) {
  bool quick = false;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else
      argv[out++] = argv[i];
  }
  argc = out;
  return quick;
}

/// splitmix64: the same numbers on every machine and standard library (std distributions
/// differ between implementations), so generated inputs are the same bytes everywhere.
inline uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// Records the figure report.py prints as `RATE <benchmark name> <value> <unit>`. The label
/// carries the unit because Google Benchmark's JSON has no other free-text field per run.
inline void report_rate(benchmark::State& state, double value, const std::string& unit) {
  state.counters["rate"] = benchmark::Counter(value);
  state.SetLabel(unit);
}

/// Registers a benchmark that runs its job once and reports the time it measured itself (a
/// whole job run is one iteration: repeating it would only repeat the setup).
template <class Fn>
void register_once(const std::string& name, Fn fn) {
  benchmark::RegisterBenchmark(name.c_str(), std::move(fn))
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

/// The rest of a bench program's main after its flags: registers, runs, reports.
template <class Register>
int run_benchmarks(int& argc, char** argv, Register register_all) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace rill::bench
