// Frame: the bytes of one serialized Cap'n Proto message, and the bounded, aligned reader for it.
// Frame is a value (copy and share freely); an AlignedFrameReader belongs to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "dataflow/result.hpp"

namespace capnp {
class MessageReader;
}  // namespace capnp

namespace rill::net {

/// One serialized message (standard Cap'n Proto stream framing), as sent and stored.
class Frame {
 public:
  Frame() = default;
  explicit Frame(std::vector<uint8_t> bytes) noexcept : bytes_(std::move(bytes)) {}

  const uint8_t* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }
  std::span<const uint8_t> bytes() const noexcept { return bytes_; }
  /// For serialisers (a CAF inspect()) that fill a frame in place.
  std::vector<uint8_t>& mutable_bytes() noexcept { return bytes_; }
  /// Hands the bytes over without copying; the frame is left empty.
  std::vector<uint8_t> release() && noexcept { return std::move(bytes_); }

  friend bool operator==(const Frame&, const Frame&) = default;

 private:
  std::vector<uint8_t> bytes_;
};

/// Bounds on what decoding a frame may cost; frames from peers are untrusted.
struct DecodeLimits {
  /// Largest frame accepted, in bytes. Default 256 MiB: a batch far past that should be split
  /// into several frames anyway. Costs up to this much extra memory when the frame must be
  /// copied to fix its alignment.
  std::size_t max_frame_bytes = std::size_t{256} << 20;

  /// Most records in one frame. Default 16 Mi. Bounds the result vector decode reserves.
  uint64_t max_records = uint64_t{1} << 24;

  /// Cap'n Proto traversal limit, in 8-byte words read. Default 64 Mi words (512 MiB), twice the
  /// default frame limit: a well-formed frame reads each word once, so this only stops frames
  /// whose pointers alias the same bytes to make decoding do (and allocate) far more than their
  /// size.
  uint64_t traversal_words = uint64_t{64} << 20;

  /// Cap'n Proto pointer nesting limit. Default 16; rill frames nest 3 deep.
  int nesting_depth = 16;
};

/// Reads a frame's root message within DecodeLimits. Cap'n Proto needs 8-byte-aligned words:
/// aligned input is read in place (REQUIRES: the bytes outlive the reader), anything else is first
/// copied into an aligned buffer the reader owns. Move-only.
class AlignedFrameReader {
 public:
  /// Checks the size against the limits and the segment table; never throws. Errors are
  /// Errc::too_large (over max_frame_bytes) or Errc::corrupt ("frame of 12 bytes: not a rill
  /// frame: ...").
  static Result<AlignedFrameReader> open(std::span<const uint8_t> bytes,
                                         const DecodeLimits& limits);
  static Result<AlignedFrameReader> open(const Frame& frame, const DecodeLimits& limits) {
    return open(frame.bytes(), limits);
  }

  AlignedFrameReader(AlignedFrameReader&&) noexcept;
  AlignedFrameReader& operator=(AlignedFrameReader&&) noexcept;
  ~AlignedFrameReader();

  /// The message. Getting its root and reading fields may throw kj::Exception on malformed
  /// content: callers read inside kj::runCatchingExceptions or a catch of kj::Exception.
  capnp::MessageReader& message() noexcept;
  /// True when open() had to copy the bytes to align them.
  bool copied() const noexcept;

 private:
  struct Impl;
  explicit AlignedFrameReader(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rill::net
