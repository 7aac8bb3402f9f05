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
  /// An error (or ok, for Errc::ok) with a message naming what failed and where.
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  /// Success.
  static Status ok() { return {}; }
  /// True on success.
  bool is_ok() const noexcept { return code_ == Errc::ok; }
  /// is_ok().
  explicit operator bool() const noexcept { return is_ok(); }
  /// The error code (Errc::ok on success).
  Errc code() const noexcept { return code_; }
  /// The message alone, without the code.
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
  /// A value.
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, as std::expected
  /// An error; throws std::logic_error for an ok Status (a bug).
  Result(Status error) : v_(std::move(error)) {
    if (std::get<Status>(v_).is_ok()) throw std::logic_error("Result built from an ok Status");
  }

  /// True when it holds a value.
  bool is_ok() const noexcept { return v_.index() == 0; }
  /// is_ok().
  explicit operator bool() const noexcept { return is_ok(); }
  /// REQUIRES: is_ok().
  T& value() & { return std::get<T>(v_); }
  /// The value. REQUIRES: is_ok().
  const T& value() const& { return std::get<T>(v_); }
  /// Moves the value out. REQUIRES: is_ok().
  T&& value() && { return std::get<T>(std::move(v_)); }
  /// The value's members. REQUIRES: is_ok().
  T* operator->() { return &value(); }
  /// The value's members. REQUIRES: is_ok().
  const T* operator->() const { return &value(); }
  /// The value. REQUIRES: is_ok().
  T& operator*() & { return value(); }
  /// The value. REQUIRES: is_ok().
  const T& operator*() const& { return value(); }
  /// REQUIRES: !is_ok().
  const Status& status() const { return std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rill
