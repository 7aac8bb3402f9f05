// Out-of-line parts of Status: names of error codes and the one-line message form.
#include "dataflow/result.hpp"

namespace rill {

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::corrupt:
      return "corrupt";
    case Errc::too_large:
      return "too_large";
    case Errc::not_found:
      return "not_found";
    case Errc::io_error:
      return "io_error";
    case Errc::unavailable:
      return "unavailable";
    case Errc::user_error:
      return "user_error";
    case Errc::stopped:
      return "stopped";
  }
  // An out-of-range value can only come from a cast; name it rather than crash.
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string out = errc_name(code_);
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace rill
