// tools/json.h — the one string escaper behind every JSON the `ringflow`
// tool writes (`stat --json`), also used to print untrusted strings from
// shared memory (type tags, consumer names) in tables.
#ifndef RINGFLOW_TOOLS_JSON_H_
#define RINGFLOW_TOOLS_JSON_H_

#include <string>
#include <string_view>

namespace ringflow::tools {

// The body of a JSON string literal for `s` (RFC 8259; the caller adds the
// quotes): \" \\ \b \f \n \r \t, \u00XX for the other control characters
// and DEL; valid UTF-8 sequences are copied, and every byte that is not
// part of one becomes \ufffd (U+FFFD, the replacement character), so the
// result is valid JSON in pure ASCII plus the valid UTF-8 of the input.
// Cold path.
std::string JsonEscape(std::string_view s);

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_JSON_H_
