// ringflow/processors/internal/type_name.h
//
// A readable name for a handler type, used to label processors in errors,
// logs and metrics. Cold path only.

#ifndef RINGFLOW_PROCESSORS_INTERNAL_TYPE_NAME_H_
#define RINGFLOW_PROCESSORS_INTERNAL_TYPE_NAME_H_

#include <string>
#include <typeinfo>

namespace ringflow::processors_internal {

std::string Demangle(const char* mangled);

template <typename T>
std::string TypeName() {
  return Demangle(typeid(T).name());
}

}  // namespace ringflow::processors_internal

#endif  // RINGFLOW_PROCESSORS_INTERNAL_TYPE_NAME_H_
