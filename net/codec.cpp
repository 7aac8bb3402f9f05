// The non-template half of the batch codec: plain columns in and out of Cap'n Proto.
#include "net/codec.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "net/record_batch_wire.hpp"

namespace rill::net {
namespace {

constexpr std::size_t kWordBytes = sizeof(capnp::word);
constexpr std::size_t kMaxListEntries = (std::size_t{1} << 29) - 1;  // Cap'n Proto list limit
constexpr std::size_t kMaxSegmentWords = (std::size_t{1} << 29) - 1;

// Lets Cap'n Proto build the message directly inside the frame's byte vector, behind room for
// the one-segment table, so encoding writes each byte once and never copies the message. The
// caller sizes the segment exactly; if that were ever short, Cap'n Proto asks for more and
// write_frame falls back to the general multi-segment serialisation.
class InPlaceBuilder final : public capnp::MessageBuilder {
 public:
  InPlaceBuilder(std::vector<uint8_t>& bytes, std::size_t words) : bytes_(bytes), words_(words) {
    bytes_.assign(kWordBytes + words * kWordBytes, 0);  // segments must start zeroed
  }

  kj::ArrayPtr<capnp::word> allocateSegment(unsigned int minimum_words) override {
    if (!first_taken_ && minimum_words <= words_) {
      first_taken_ = true;
      return kj::arrayPtr(reinterpret_cast<capnp::word*>(bytes_.data() + kWordBytes), words_);
    }
    const std::size_t size = std::max<std::size_t>(minimum_words, 8192);
    auto& extra = extra_.emplace_back(kj::heapArray<capnp::word>(size));
    std::memset(extra.begin(), 0, extra.size() * kWordBytes);
    return extra;
  }

  const capnp::word* first_segment() const {
    return reinterpret_cast<const capnp::word*>(bytes_.data() + kWordBytes);
  }

 private:
  std::vector<uint8_t>& bytes_;
  std::size_t words_;
  bool first_taken_ = false;
  std::vector<kj::Array<capnp::word>> extra_;
};

void put_u32_le(uint8_t* at, uint32_t value) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<uint8_t>(value >> (8 * i));
}

}  // namespace

void fill_record_batch(wire::RecordBatch::Builder batch, const EncodeColumns& columns) {
  for (std::size_t size :
       {columns.ints.size(), columns.floats.size(), columns.strings.size(), columns.shape.size()}) {
    if (size > kMaxListEntries) {
      throw std::length_error("rill: a batch column holds " + std::to_string(size) +
                              " entries, over Cap'n Proto's 2^29 limit: split the batch");
    }
  }
  batch.setTypeTag(columns.type_tag);
  batch.setRecordCount(columns.record_count);
  auto ints = batch.initInts(static_cast<unsigned>(columns.ints.size()));
  for (unsigned i = 0; i < columns.ints.size(); ++i) ints.set(i, columns.ints[i]);
  auto floats = batch.initFloats(static_cast<unsigned>(columns.floats.size()));
  for (unsigned i = 0; i < columns.floats.size(); ++i) floats.set(i, columns.floats[i]);
  auto shape = batch.initShape(static_cast<unsigned>(columns.shape.size()));
  for (unsigned i = 0; i < columns.shape.size(); ++i) shape.set(i, columns.shape[i]);
  auto strings = batch.initStrings(static_cast<unsigned>(columns.strings.size()));
  for (unsigned i = 0; i < columns.strings.size(); ++i) {
    const std::string_view s = columns.strings[i];
    if (s.empty()) continue;  // a null pointer reads back as empty Data
    if (s.size() > kMaxListEntries) throw std::length_error("rill: a string over 512 MiB");
    std::memcpy(strings.init(i, static_cast<unsigned>(s.size())).begin(), s.data(), s.size());
  }
}

std::size_t record_batch_words(const EncodeColumns& columns) {
  using Layout = wire::RecordBatch::_capnpPrivate;
  return Layout::dataWordSize + Layout::pointerCount + columns.ints.size() + columns.floats.size() +
         (columns.shape.size() + 1) / 2 + columns.strings.size() + columns.string_words;
}

std::optional<Status> read_record_batch(wire::RecordBatch::Reader batch, const DecodeLimits& limits,
                                        std::string_view type_signature, const std::string& what,
                                        DecodeColumns& out) {
  const uint64_t tag = batch.getTypeTag();
  if (tag == 0) return Status(Errc::corrupt, what + ": not a rill record batch (no type tag)");
  if (tag != type_tag(type_signature))
    return Status(Errc::corrupt, type_tag_mismatch(tag, type_signature));
  out.type_tag = tag;
  out.record_count = batch.getRecordCount();
  if (out.record_count > limits.max_records) {
    return Status(Errc::too_large, what + " holds " + std::to_string(out.record_count) +
                                       " records, over the limit of " +
                                       std::to_string(limits.max_records));
  }
  // Each getter is called once: Cap'n Proto charges the traversal limit per call.
  const auto ints = batch.getInts();
  out.ints.reserve(ints.size());
  for (const int64_t value : ints) out.ints.push_back(value);
  const auto floats = batch.getFloats();
  out.floats.reserve(floats.size());
  for (const double value : floats) out.floats.push_back(value);
  const auto shape = batch.getShape();
  out.shape.reserve(shape.size());
  for (const uint32_t value : shape) out.shape.push_back(value);
  const auto strings = batch.getStrings();
  out.strings.reserve(strings.size());
  for (const auto data : strings) {
    out.strings.emplace_back(reinterpret_cast<const char*>(data.begin()), data.size());
  }
  return std::nullopt;
}

Frame write_frame(const EncodeColumns& columns) {
  for (std::size_t size :
       {columns.ints.size(), columns.floats.size(), columns.strings.size(), columns.shape.size()}) {
    if (size > kMaxListEntries) {
      throw std::length_error("rill: a batch column holds " + std::to_string(size) +
                              " entries, over Cap'n Proto's 2^29 limit: split the batch");
    }
  }
  const std::size_t words = 1 + record_batch_words(columns);
  if (words > kMaxSegmentWords) {
    throw std::length_error("rill: a batch of " + std::to_string(words * kWordBytes) +
                            " bytes is too large for one frame: split the batch");
  }

  std::vector<uint8_t> bytes;
  InPlaceBuilder message(bytes, words);
  fill_record_batch(message.initRoot<wire::RecordBatch>(), columns);

  const auto segments = message.getSegmentsForOutput();
  if (segments.size() == 1 && segments[0].begin() == message.first_segment()) {
    put_u32_le(bytes.data(), 0);  // segment count - 1
    put_u32_le(bytes.data() + 4, static_cast<uint32_t>(segments[0].size()));
    bytes.resize(kWordBytes + segments[0].size() * kWordBytes);
    return Frame(std::move(bytes));
  }
  const kj::Array<capnp::word> flat = capnp::messageToFlatArray(segments);
  const auto flat_bytes = flat.asBytes();
  return Frame(std::vector<uint8_t>(flat_bytes.begin(), flat_bytes.end()));
}

Result<DecodeColumns> read_frame(const Frame& frame, const DecodeLimits& limits,
                                 std::string_view type_signature) {
  auto reader = AlignedFrameReader::open(frame, limits);
  if (!reader) return reader.status();
  const std::string what = "frame of " + std::to_string(frame.size()) + " bytes";
  DecodeColumns out;
  std::optional<Status> refused;
  // Every Cap'n Proto read happens in here: a malformed frame throws kj::Exception, caught below.
  auto thrown = kj::runCatchingExceptions([&] {
    refused = read_record_batch(reader->message().getRoot<wire::RecordBatch>(), limits,
                                type_signature, what, out);
  });
  KJ_IF_MAYBE (exception, thrown) {
    return Status(Errc::corrupt, what + ": " + exception->getDescription().cStr());
  }
  if (refused) return *std::move(refused);
  // The string views point into the frame or into the reader's aligned copy; neither moves.
  out.owner = std::make_shared<const AlignedFrameReader>(std::move(*reader));
  return out;
}

}  // namespace rill::net
