// Word count input for the benches: generated Zipf text held in memory, and the hand-written
// split-and-count loop the baselines share. Header-only; a Corpus is immutable once made.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "bench/bench_common.hpp"

namespace rill::bench {

constexpr size_t kVocabulary = 100'000;

struct Corpus {
  std::string text;                 // lines of single-space-separated words, each ending in \n
  std::vector<size_t> line_starts;  // offsets of every line, then text.size()
  int64_t words = 0;
  std::string_view line(size_t i) const {
    return std::string_view(text).substr(line_starts[i], line_starts[i + 1] - line_starts[i] - 1);
  }
  size_t lines() const { return line_starts.size() - 1; }
};

/// `bytes` (or a line more) of distinct lowercase words of 2-11 letters drawn with Zipf(1)
/// ranks, 8-16 words a line: the same bytes for a seed on every run and machine.
inline Corpus make_corpus(size_t bytes, uint64_t seed) {
  uint64_t rng = seed;
  std::vector<std::string> vocab;
  std::unordered_set<std::string> seen;
  while (vocab.size() < kVocabulary) {
    std::string w(2 + splitmix(rng) % 10, 'a');
    for (char& c : w) c = static_cast<char>('a' + splitmix(rng) % 26);
    if (seen.insert(w).second) vocab.push_back(std::move(w));
  }
  std::vector<double> cdf(kVocabulary);
  double sum = 0;
  for (size_t r = 0; r < kVocabulary; ++r) cdf[r] = sum += 1.0 / static_cast<double>(r + 1);
  Corpus c;
  c.text.reserve(bytes + 256);
  while (c.text.size() < bytes) {
    c.line_starts.push_back(c.text.size());
    const uint64_t n = 8 + splitmix(rng) % 9;
    for (uint64_t i = 0; i < n; ++i) {
      const double u = static_cast<double>(splitmix(rng) >> 11) * 0x1.0p-53 * sum;
      const auto r = static_cast<size_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
      c.text += vocab[std::min(r, vocab.size() - 1)];
      c.text += i + 1 < n ? ' ' : '\n';
    }
    c.words += static_cast<int64_t>(n);
  }
  c.line_starts.push_back(c.text.size());
  return c;
}

/// The split every baseline shares: words are runs of bytes between ' ' and '\n'. View is
/// the string view type Map looks keys up by (absl::string_view for Debian's C++14 absl).
template <class Map, class View>
void count_words(std::string_view text, Map& counts) {
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const char* q = p;
    while (q < end && *q != ' ' && *q != '\n') ++q;
    if (q > p) {
      const View word(p, static_cast<size_t>(q - p));
      auto it = counts.find(word);
      if (it != counts.end())
        ++it->second;
      else
        counts.emplace(std::string(p, static_cast<size_t>(q - p)), 1);
    }
    p = q + 1;
  }
}

}  // namespace rill::bench
