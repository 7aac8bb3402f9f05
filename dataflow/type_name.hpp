// type_name_of<T>(): the name a stream's record type has in the DAG fingerprint: the codec's
// platform-independent signature for records, the demangled C++ name otherwise. Pure.
#pragma once

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <typeinfo>

#include "dataflow/record_traits.hpp"

namespace rill {

template <class T>
std::string type_name_of() {
  if constexpr (is_record_v<T>) {
    return type_signature<T>();
  } else {
    // Internal types (not records) never cross processes; the compiler's name is stable
    // for a given build, which is all a restart of the same program needs.
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(
        abi::__cxa_demangle(typeid(T).name(), nullptr, nullptr, &status), std::free);
    return status == 0 && name ? std::string(name.get()) : std::string(typeid(T).name());
  }
}

}  // namespace rill
