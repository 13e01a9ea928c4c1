#include "ringflow/processors/internal/type_name.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace ringflow::processors_internal {

std::string Demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && demangled ? std::string(demangled.get())
                                  : std::string(mangled);
}

}  // namespace ringflow::processors_internal
