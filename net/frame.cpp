// AlignedFrameReader: size checks, the alignment copy, and Cap'n Proto's reader limits.
#include "net/frame.hpp"

#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>

#include <cstring>
#include <optional>
#include <string>

namespace rill::net {

struct AlignedFrameReader::Impl {
  kj::Array<capnp::word> copy;  // empty when the caller's bytes were aligned already
  std::optional<capnp::FlatArrayMessageReader> reader;
};

AlignedFrameReader::AlignedFrameReader(std::unique_ptr<Impl> impl) noexcept
    : impl_(std::move(impl)) {}
AlignedFrameReader::AlignedFrameReader(AlignedFrameReader&&) noexcept = default;
AlignedFrameReader& AlignedFrameReader::operator=(AlignedFrameReader&&) noexcept = default;
AlignedFrameReader::~AlignedFrameReader() = default;

capnp::MessageReader& AlignedFrameReader::message() noexcept { return *impl_->reader; }
bool AlignedFrameReader::copied() const noexcept { return impl_->copy.size() != 0; }

Result<AlignedFrameReader> AlignedFrameReader::open(std::span<const uint8_t> bytes,
                                                    const DecodeLimits& limits) {
  const std::string what = "frame of " + std::to_string(bytes.size()) + " bytes";
  if (bytes.size() > limits.max_frame_bytes) {
    return Status(Errc::too_large,
                  what + " exceeds the limit of " + std::to_string(limits.max_frame_bytes));
  }
  constexpr std::size_t kWord = sizeof(capnp::word);
  if (bytes.size() < kWord || bytes.size() % kWord != 0) {
    return Status(Errc::corrupt, what + ": not a rill frame (not a whole number of 8-byte words)");
  }

  auto impl = std::make_unique<Impl>();
  kj::ArrayPtr<const capnp::word> words;
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) {
    // Frames built in a std::vector are aligned by operator new: skip the copy.
    words = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / kWord);
  } else {
    impl->copy = kj::heapArray<capnp::word>(bytes.size() / kWord);
    std::memcpy(impl->copy.begin(), bytes.data(), bytes.size());
    words = impl->copy.asPtr();
  }

  capnp::ReaderOptions options;
  options.traversalLimitInWords = limits.traversal_words;
  options.nestingLimit = limits.nesting_depth;
  // The constructor parses the segment table and throws on a bad one.
  KJ_IF_MAYBE (error, kj::runCatchingExceptions([&] { impl->reader.emplace(words, options); })) {
    return Status(Errc::corrupt,
                  what + ": not a rill frame: " + std::string(error->getDescription().cStr()));
  }
  const auto used = impl->reader->getEnd() - words.begin();
  if (static_cast<std::size_t>(used) != words.size()) {
    return Status(Errc::corrupt,
                  what + ": not a rill frame: " + std::to_string((words.size() - used) * kWord) +
                      " bytes follow the message");
  }
  return AlignedFrameReader(std::move(impl));
}

}  // namespace rill::net
