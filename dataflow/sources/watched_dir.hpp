// text_file_stream's source: the lines of files that appear in a directory, each file once.
// Thread-safe (one mutex); the batch builder calls take(), the runtime start() and stop().
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "dataflow/input_source.hpp"

namespace rill {

/// Watches a directory for new files (Spark's textFileStream), without a receiver.
///
/// start() lists the directory; everything listed then is already present and never read.
/// Each take(t) lists it again: a name absent from every earlier listing, not starting with
/// '.' or '_', that names a regular file (or a symlink to one) is new. New files are read
/// whole, in sorted name order, and their lines (split as LineSplitter does, a final
/// unterminated line included) form batch t. New is decided by comparing listings, never by
/// modification time, so a file renamed in with an old mtime is still read.
///
/// Writers: a file is read in the batch that first lists it, perhaps half-written. Write it
/// elsewhere on the same filesystem, or here under a name starting with '.' or '_', then
/// rename(2) it into place: the rename is atomic, so a listed file is complete.
///
/// Caveats:
/// - A file that cannot be read (permission denied, I/O error) is logged as an error naming
///   it and retried at every later batch until it is read or gone; it is read once, in the
///   batch where reading first succeeds. One that vanished before it was read is logged and
///   forgotten. Neither fails the batch.
/// - Names are remembered for the life of the source: a name deleted and reused later is
///   not read again. TODO(memory): the set grows with every name ever listed.
/// - Replayable: each batch records the files it read (name, size, XXH3 of the content)
///   and, for the first batch, the names ignored at start. A re-run batch reads the same files
///   again; one changed or removed since is an error naming it, never different output.
///   After a restart with a checkpoint, resume() remembers every recorded name, so files
///   that arrived while the job was down are read, once, by the first batch.
/// - take() before start() (the LocalRun test helper calls no start()) starts first, so the
///   first take() only records what is present.
class WatchedDirSource final : public InputSource {
 public:
  explicit WatchedDirSource(std::string dir);

  std::string kind() const override { return "files"; }
  /// Lists the directory. Throws ConfigError naming it when it does not exist or is not a
  /// directory. A second call does nothing.
  void start(const SourceContext& ctx) override;
  /// The lines of the files new since the last listing, split into `partitions` parts.
  Taken take(Millis t, int partitions) override;
  bool replayable() const override { return true; }
  std::string started_record() const override;
  Result<Taken> replay(Millis t, std::string_view recorded, int partitions) override;
  Status resume(std::span<const std::string> recorded) override;
  const std::string& dir() const { return dir_; }

 private:
  void start_locked();

  const std::string dir_;
  mutable std::mutex mu_;
  bool started_ = false;
  std::set<std::string> seen_;                  // names present at start() and files read since
  std::string ignored_record_;                  // start()'s names, recorded by the next take()
  std::map<std::string, std::string> failing_;  // unreadable new file -> last error logged
  std::string list_error_;                      // last listing error logged, to log changes only
};

}  // namespace rill
