#include "net/jetstream_range.hpp"

#include <xxhash.h>

#include <charconv>
#include <cstdio>

namespace rill::net {

namespace {

constexpr std::string_view kPrefix = "js1 ";

// Parses one number ending at a space (or at the end when last); advances s.
bool parse_number(std::string_view& s, uint64_t& out, bool last, int base = 10) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  if (ec != std::errc{} || p == s.data()) return false;
  size_t used = static_cast<size_t>(p - s.data());
  if (last) return used == s.size();
  if (used == s.size() || *p != ' ') return false;
  s.remove_prefix(used + 1);
  return true;
}

}  // namespace

std::string JetStreamRange::encode() const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return std::string(kPrefix) + std::to_string(from) + " " + std::to_string(to) + " " +
         std::to_string(count) + " " + hex;
}

Result<JetStreamRange> JetStreamRange::decode(std::string_view recorded) {
  auto bad = [recorded](const char* why) {
    return Status(Errc::invalid_argument,
                  "jetstream: recorded range '" + std::string(recorded) + "' is malformed: " + why);
  };
  if (recorded.substr(0, kPrefix.size()) != kPrefix) return bad("it does not start with 'js1 '");
  std::string_view s = recorded.substr(kPrefix.size());
  JetStreamRange r;
  if (!parse_number(s, r.from, false) || !parse_number(s, r.to, false) ||
      !parse_number(s, r.count, false) || s.size() != 16 || !parse_number(s, r.hash, true, 16))
    return bad("expected 'js1 FROM TO COUNT HASH'");
  if (r.from == 0) return bad("stream sequences start at 1");
  if (r.to + 1 < r.from) return bad("TO is before FROM - 1");
  if (r.count > r.to + 1 - r.from) return bad("COUNT exceeds the range");
  return r;
}

std::string JetStreamRange::describe() const {
  if (empty()) return "no stream sequence (next " + std::to_string(from) + ")";
  return "stream sequences [" + std::to_string(from) + ", " + std::to_string(to) + "]";
}

void JetStreamChecksum::add(uint64_t sequence, std::string_view subject, std::string_view payload) {
  // Chained: each message's hash is seeded with the running value, so order matters, and
  // the lengths keep (subject, payload) boundaries unambiguous.
  uint64_t sizes[3] = {sequence, subject.size(), payload.size()};
  hash_ = XXH3_64bits_withSeed(sizes, sizeof sizes, hash_);
  hash_ = XXH3_64bits_withSeed(subject.data(), subject.size(), hash_);
  hash_ = XXH3_64bits_withSeed(payload.data(), payload.size(), hash_);
}

}  // namespace rill::net
