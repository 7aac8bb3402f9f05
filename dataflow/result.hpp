// Status and Result<T>: how fallible I/O in persistence/ and net/ reports failure without throwing.
// Values: copy and share freely.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace rill {

/// What went wrong, by kind; the message names the thing and the place.
enum class Errc {
  ok = 0,
  invalid_argument,  ///< a caller passed something malformed (record, frame, key)
  corrupt,           ///< stored or received bytes fail validation (checksum, schema)
  too_large,         ///< a record or frame exceeds its configured limit
  not_found,         ///< a key, file or peer does not exist
  io_error,          ///< the OS or a store refused (disk full, permission, connection)
  unavailable,       ///< a peer or source is unreachable for now; retry may succeed
  user_error,        ///< a user function threw
  stopped,           ///< the context or actor is stopping
};

/// Human-readable name of an Errc, for messages.
const char* errc_name(Errc code) noexcept;

/// Success, or an error code with a message naming what failed and where.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const noexcept { return code_ == Errc::ok; }
  explicit operator bool() const noexcept { return is_ok(); }
  Errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  /// "corrupt: store /x, db wal, key 7: checksum mismatch"
  std::string to_string() const;

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

/// A value or the Status that explains its absence.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, as std::expected
  Result(Status error) : v_(std::move(error)) {
    if (std::get<Status>(v_).is_ok()) throw std::logic_error("Result built from an ok Status");
  }

  bool is_ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return is_ok(); }
  /// REQUIRES: is_ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  /// REQUIRES: !is_ok().
  const Status& status() const { return std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rill
