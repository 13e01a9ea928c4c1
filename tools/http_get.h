// tools/http_get.h — a minimal HTTP/1.0 GET over a loopback TCP socket,
// enough for the tool to read its own /metrics endpoint back. Cold path.
#ifndef RINGFLOW_TOOLS_HTTP_GET_H_
#define RINGFLOW_TOOLS_HTTP_GET_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace ringflow::tools {

// GET http://<host>:<port><path>; returns the body of a 200 response.
absl::StatusOr<std::string> HttpGet(const std::string& host, int port,
                                    const std::string& path);

// Parses text exposition lines `name{labels} value` into a map keyed by
// `name{labels}` (comments skipped).
std::map<std::string, double> ParseExposition(const std::string& text);

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_HTTP_GET_H_
