#pragma once

// Pieces of JSON output and calendar arithmetic that every layer writing
// JSON shares (server responses, projection documents): exact, and the
// same on every machine.

#include <cstdint>
#include <string>
#include <string_view>

namespace cairn {

// Appends s as a JSON string literal, quotes included. REQUIRES: s is valid
// UTF-8 (every text Cairn writes was validated on the way in).
void AppendJsonString(std::string* out, std::string_view s);

// The same without the quotes: for a string written in parts.
void AppendJsonEscaped(std::string* out, std::string_view s);

// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
// Hinnant's algorithms).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);

}  // namespace cairn
