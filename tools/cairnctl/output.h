#pragma once

// What cairnctl prints on stdout: with --json the API's JSON as it came, one
// document a line (NDJSON when following); otherwise aligned tables for
// people, drawn from that same JSON.

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::cairnctl {

// Columns padded to their widest cell, two spaces apart; the last column
// is not padded.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void Add(std::vector<std::string> row);
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;  // headers first
};

// Each takes the JSON body of the named API response and prints it for
// people (the table, then a hint for the next page when there is one).
void PrintStreamList(std::ostream& out, std::string_view json);    // streams
void PrintStreamInfo(std::ostream& out, std::string_view json);    // a stream
void PrintEventPage(std::ostream& out, std::string_view json);     // events
void PrintAppendResult(std::ostream& out, std::string_view json);  // 201
void PrintProjections(std::ostream& out, std::string_view json);
void PrintBackupList(std::ostream& out, std::string_view json);
void PrintBackup(std::ostream& out, std::string_view json);

// One event object as one line for people: position, stream@revision,
// type, time, data (shortened).
std::string EventLine(std::string_view event_json);

}  // namespace cairn::cairnctl
