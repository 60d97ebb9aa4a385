#include "tools/cairnctl/output.h"

#include <algorithm>
#include <boost/json.hpp>
#include <ostream>

namespace cairn::cairnctl {
namespace {

namespace json = boost::json;

// Data wider than this is cut in tables: --json prints it whole.
constexpr size_t kDataColumnChars = 60;

// A scalar as people read it: strings without quotes, null as "-".
std::string Cell(const json::value* v) {
  if (v == nullptr || v->is_null()) return "-";
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

std::string Cell(const json::object& o, std::string_view key) {
  return Cell(o.if_contains(key));
}

std::string Shorten(std::string text, size_t chars) {
  if (text.size() <= chars) return text;
  // Cut on a UTF-8 character boundary.
  size_t at = chars - 3;
  while (at > 0 && (static_cast<unsigned char>(text[at]) & 0xc0) == 0x80) --at;
  text.resize(at);
  return text + "...";
}

std::string Bytes(uint64_t n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", v,
                kUnits[unit]);
  return buf;
}

void PrintNext(std::ostream& out, const json::object& page,
               std::string_view option) {
  const json::value* next = page.if_contains("next");
  if (next != nullptr && !next->is_null()) {
    out << "(more: " << option << " " << Cell(next) << ")\n";
  }
}

std::vector<std::string> EventCells(const json::object& e) {
  const json::value* data = e.if_contains("data");
  return {Cell(e, "position"), Cell(e, "stream") + "@" + Cell(e, "revision"),
          Cell(e, "type"), Cell(e, "time"),
          data ? Shorten(json::serialize(*data), kDataColumnChars) : "-"};
}

}  // namespace

Table::Table(std::vector<std::string> headers) {
  rows_.push_back(std::move(headers));
}

void Table::Add(std::vector<std::string> row) {
  rows_.push_back(std::move(row));
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths(rows_[0].size(), 0);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

void PrintStreamList(std::ostream& out, std::string_view text) {
  const json::object page = json::parse(text).as_object();
  Table t({"STREAM", "LAST REVISION", "LAST POSITION"});
  for (const auto& s : page.at("streams").as_array()) {
    const json::object& o = s.as_object();
    t.Add(
        {Cell(o, "stream"), Cell(o, "lastRevision"), Cell(o, "lastPosition")});
  }
  t.Print(out);
  PrintNext(out, page, "--after");
}

void PrintStreamInfo(std::ostream& out, std::string_view text) {
  const json::object o = json::parse(text).as_object();
  const json::object& m = o.at("metadata").as_object();
  Table t({"FIELD", "VALUE"});
  t.Add({"stream", Cell(o, "stream")});
  t.Add({"last revision", Cell(o, "lastRevision")});
  t.Add({"last position", Cell(o, "lastPosition")});
  t.Add({"created", Cell(o, "created")});
  t.Add({"deleted", Cell(o, "deleted")});
  t.Add({"max count", Cell(m, "maxCount")});
  t.Add({"max age seconds", Cell(m, "maxAgeSeconds")});
  t.Print(out);
}

void PrintEventPage(std::ostream& out, std::string_view text) {
  const json::object page = json::parse(text).as_object();
  Table t({"POSITION", "STREAM@REVISION", "TYPE", "TIME", "DATA"});
  for (const auto& e : page.at("events").as_array()) {
    t.Add(EventCells(e.as_object()));
  }
  t.Print(out);
  PrintNext(out, page, "--from");
}

std::string EventLine(std::string_view text) {
  std::string line;
  for (const std::string& cell : EventCells(json::parse(text).as_object())) {
    if (!line.empty()) line += "  ";
    line += cell;
  }
  return line;
}

void PrintAppendResult(std::ostream& out, std::string_view text) {
  const json::object o = json::parse(text).as_object();
  Table t({"STREAM", "REVISIONS", "POSITIONS", "DUPLICATE"});
  const json::value* dup = o.if_contains("duplicate");
  t.Add({Cell(o, "stream"),
         Cell(o, "firstRevision") + ".." + Cell(o, "lastRevision"),
         Cell(o, "firstPosition") + ".." + Cell(o, "lastPosition"),
         dup != nullptr && dup->is_bool() && dup->as_bool() ? "yes" : "no"});
  t.Print(out);
}

void PrintProjections(std::ostream& out, std::string_view text) {
  const json::object o = json::parse(text).as_object();
  Table t({"NAME", "VERSION", "STATUS", "CHECKPOINT", "LAG", "LAST ERROR"});
  for (const auto& p : o.at("projections").as_array()) {
    const json::object& po = p.as_object();
    t.Add({Cell(po, "name"), Cell(po, "version"), Cell(po, "status"),
           Cell(po, "checkpoint"), Cell(po, "lag"), Cell(po, "lastError")});
  }
  t.Print(out);
}

void PrintBackupList(std::ostream& out, std::string_view text) {
  const json::object o = json::parse(text).as_object();
  Table t({"ID", "CREATED", "SIZE"});
  for (const auto& b : o.at("backups").as_array()) {
    const json::object& bo = b.as_object();
    t.Add({Cell(bo, "id"), Cell(bo, "created"),
           Bytes(bo.at("sizeBytes").to_number<uint64_t>())});
  }
  t.Print(out);
}

void PrintBackup(std::ostream& out, std::string_view text) {
  const json::object o = json::parse(text).as_object();
  out << "backup " << Cell(o, "id") << " created " << Cell(o, "created") << " ("
      << Bytes(o.at("sizeBytes").to_number<uint64_t>()) << ")\n";
}

}  // namespace cairn::cairnctl
