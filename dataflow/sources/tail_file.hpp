// text_file_tail's source: the lines appended to a growing file (log shipping), read by byte
// offset and replayable. Thread-safe (one mutex); the batch builder calls take() and replay().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "dataflow/input_source.hpp"

namespace rill {

class StreamingContext;
template <class T>
class DStream;

/// Tails one file by byte offset, like `tail -F`, without a receiver: exactly-once.
///
/// Each take(t) reads the file from the last offset to its current end and returns the
/// complete lines ('\n'-terminated, a trailing '\r' dropped); an unterminated last line waits
/// for its '\n'. The first take() reads the file from offset 0; a file that does not exist
/// yet gives empty batches until it appears.
///
/// Rotation by rename (logrotate: `mv app.log app.log.1`, then a new app.log): the source
/// keeps the old file open and reads it through that fd while it still grows (the writer
/// appends to it until it reopens). At the first take() that finds the old file idle (no
/// bytes since the last take) and a different file at the path, it takes the old file's
/// last bytes (an unterminated final line becomes a line: nothing will complete it) and
/// switches to the new file from offset 0. Such a batch covers two files.
///
/// Taken::replay records, per file read, its identity (device, inode), the byte range
/// [begin, end) and the XXH3-64 of those bytes; an empty batch still records the position,
/// so resume_after() works after any batch. replay() finds each file by identity: at the path,
/// else under any name in the path's directory (app.log.1). A range whose bytes changed or
/// whose file is gone is an error naming the path and the range.
///
/// Caveats:
/// - Rotation by copy-and-truncate (copytruncate) is seen as a truncation: reading restarts
///   at offset 0 (logged), lines written between the copy and the truncate are lost, and
///   replays of earlier ranges fail (their bytes changed).
/// - A rotated file that is compressed or deleted before it was read to its end loses its
///   last lines, and makes replays of its ranges fail.
/// - Each batch holds everything appended since the last one in memory.
///   TODO(memory): cap the bytes per batch and leave the rest for the next.
class TailFileSource final : public InputSource {
 public:
  /// Throws ConfigError when path is empty or contains a newline.
  explicit TailFileSource(std::string path);
  ~TailFileSource() override;
  TailFileSource(const TailFileSource&) = delete;
  TailFileSource& operator=(const TailFileSource&) = delete;

  std::string kind() const override { return "tail"; }
  /// The complete lines appended since the last take, split into `partitions` parts.
  Taken take(Millis t, int partitions) override;
  bool replayable() const override { return true; }
  bool resumes_from_last_record() const override { return true; }
  Result<Taken> replay(Millis t, std::string_view recorded, int partitions) override;
  /// Opens the file the recorded batch read last (found by identity, as replay() does) and
  /// continues at the end of its range. Fails (not_found) when that file is gone: the lines
  /// after the range would be lost silently otherwise.
  /// Continues right after the batch that recorded `recorded` (the newest one).
  Status resume_after(std::string_view recorded);
  Status resume(std::span<const std::string> recorded) override {
    return recorded.empty() ? Status::ok() : resume_after(recorded.back());
  }
  const std::string& path() const { return path_; }

  /// One file's range in a batch: what Taken::replay records, one per line.
  struct Range {
    dev_t dev = 0;
    ino_t ino = 0;
    uint64_t begin = 0;
    uint64_t end = 0;
    uint64_t hash = 0;  ///< XXH3-64 of the bytes [begin, end)
    std::string path;   ///< where the file was opened; names it in errors
  };
  /// "tail1\n" then per range "<dev> <ino> <begin> <end> <hash, 16 hex> <path>\n".
  static std::string encode(const std::vector<Range>& ranges);
  static Result<std::vector<Range>> decode(std::string_view recorded);

 private:
  // REQUIRES: mu_ held (for all below). Opens path_ as the file to tail from offset 0; false
  // (logging errors other than ENOENT once) when it cannot be opened.
  bool open_path();
  // Reads the current file from offset_ to its end into bytes; true when its end moved since
  // the previous read (the writer still appends to it).
  bool read_new(std::string& bytes);
  // Takes the first n bytes (from offset_) as a range: appends their lines, advances offset_.
  Range consume(const std::string& bytes, size_t n, std::vector<std::string>& lines);
  void close_file();

  const std::string path_;
  std::mutex mu_;
  int fd_ = -1;    // the file being tailed; -1 before the path first exists
  dev_t dev_ = 0;  // its identity
  ino_t ino_ = 0;
  uint64_t offset_ = 0;     // bytes of it already taken (at a line end, or at its end)
  uint64_t seen_end_ = 0;   // where it ended at the previous read
  std::string open_error_;  // last open error logged, to log changes only
};

/// The lines appended to the file at path, tailed across rotations (see TailFileSource).
/// The same as ssc.text_file_tail(path).
DStream<std::string> text_file_tail(StreamingContext& ssc, const std::string& path);

}  // namespace rill
