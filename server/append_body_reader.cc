#include "server/append_body_reader.h"

#include <boost/json/basic_parser_impl.hpp>
#include <utility>

#include "server/json_writer.h"
#include "server/request_body.h"

namespace cairn::server {
namespace {

namespace json = boost::json;
using boost::system::error_code;

// basic_parser's handler: keeps the fields of the body, the event being
// read and a stack of the containers it is inside.
class AppendBodyHandler {
 public:
  // No limits of its own: the body's size is bounded before it is read.
  static constexpr auto max_array_size = static_cast<std::size_t>(-1);
  static constexpr auto max_object_size = static_cast<std::size_t>(-1);
  static constexpr auto max_string_size = static_cast<std::size_t>(-1);
  static constexpr auto max_key_size = static_cast<std::size_t>(-1);

  explicit AppendBodyHandler(std::string_view body)
      : body_begin_(body.data()), body_end_(body.data() + body.size()) {}

  bool root_is_object() const { return root_is_object_; }
  bool needs_dom() const { return needs_dom_; }
  StreamAppendFields Take() && { return std::move(body_); }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

  bool on_object_begin(error_code&) {
    Role role = Role::kSkip;
    switch (Begin(JsonKind::kObject)) {
      case Slot::kRoot:
        role = Role::kBody;
        break;
      case Slot::kEvent:
        role = Role::kEvent;
        data_finite_ = metadata_finite_ = true;
        break;
      case Slot::kCompact:
        out_->push_back('{');
        role = Role::kCompactObject;
        break;
      default:
        break;
    }
    stack_.push_back({role, true, keys_.size(), 0});
    return true;
  }

  bool on_object_end(std::size_t, error_code&) {
    const Frame f = stack_.back();
    stack_.pop_back();
    if (f.role == Role::kCompactObject) {
      out_->push_back('}');
      keys_.resize(f.keys_from);
    } else if (f.role == Role::kEvent) {
      body_.events.back().finite = data_finite_ && metadata_finite_;
    }
    return true;
  }

  bool on_array_begin(error_code&) {
    Role role = Role::kSkip;
    switch (Begin(JsonKind::kArray)) {
      case Slot::kEvents:
        body_.events.clear();
        role = Role::kEvents;
        break;
      case Slot::kCompact:
        out_->push_back('[');
        role = Role::kCompactArray;
        break;
      default:
        break;
    }
    stack_.push_back({role, true, keys_.size(), 0});
    return true;
  }

  bool on_array_end(std::size_t, error_code&) {
    if (stack_.back().role == Role::kCompactArray) out_->push_back(']');
    stack_.pop_back();
    return true;
  }

  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    KeyPart(s);
    return true;
  }

  bool on_key(json::string_view s, std::size_t, error_code& ec) {
    // A name in one piece (the usual case) is looked at where it is.
    std::string_view name(s.data(), s.size());
    if (key_started_) {
      KeyPart(s);
      name = key_;
    } else if (stack_.back().role == Role::kCompactObject) {
      KeyPart(s);
    }
    key_started_ = false;
    Frame& f = stack_.back();
    switch (f.role) {
      case Role::kBody:
        field_ = name == "expectedRevision" ? Field::kExpected
                 : name == "events"         ? Field::kEvents
                                            : Field::kOther;
        break;
      case Role::kEvent:
        field_ = name == "type"       ? Field::kType
                 : name == "id"       ? Field::kId
                 : name == "data"     ? Field::kData
                 : name == "metadata" ? Field::kMetadata
                                      : Field::kOther;
        break;
      case Role::kCompactObject:
        out_->push_back('"');
        if (!EndCompactKey(&f)) {
          needs_dom_ = true;
          ec = json::error::object_too_large;
          return false;
        }
        out_->push_back(':');
        break;
      default:
        break;
    }
    return true;
  }

  bool on_string_part(json::string_view s, std::size_t, error_code&) {
    StringPart(s);
    return true;
  }

  bool on_string(json::string_view s, std::size_t, error_code&) {
    StringPart(s);
    string_started_ = false;
    switch (string_slot_) {
      case Slot::kCompact:
        out_->push_back('"');
        break;
      case Slot::kExpected:
        body_.expected = ParseExpectedRevisionText(text_);
        break;
      default:
        break;
    }
    return true;
  }

  bool on_number_part(json::string_view, error_code&) { return true; }

  bool on_int64(int64_t v, json::string_view, error_code&) {
    switch (Begin(JsonKind::kNumber)) {
      case Slot::kCompact:
        AppendInt(out_, v);
        break;
      case Slot::kExpected:
        body_.expected = v >= 0 ? Result<storage::ExpectedRevision>(
                                      storage::ExpectedRevision::Exact(
                                          static_cast<uint64_t>(v)))
                                : RevisionNotUnderstood();
        break;
      default:
        break;
    }
    return true;
  }

  bool on_uint64(uint64_t v, json::string_view, error_code&) {
    switch (Begin(JsonKind::kNumber)) {
      case Slot::kCompact:
        AppendUint(out_, v);
        break;
      case Slot::kExpected:
        body_.expected = storage::ExpectedRevision::Exact(v);
        break;
      default:
        break;
    }
    return true;
  }

  bool on_double(double v, json::string_view, error_code&) {
    switch (Begin(JsonKind::kNumber)) {
      case Slot::kCompact:
        if (!AppendDouble(out_, v)) *finite_ = false;
        break;
      case Slot::kExpected:
        body_.expected = RevisionNotUnderstood();
        break;
      default:
        break;
    }
    return true;
  }

  bool on_bool(bool v, error_code&) {
    Literal(JsonKind::kBool, v ? "true" : "false");
    return true;
  }

  bool on_null(error_code&) {
    Literal(JsonKind::kNull, "null");
    return true;
  }

 private:
  // What a container is, to this reader.
  enum class Role : uint8_t {
    kBody,           // the body's object
    kEvents,         // its "events" array
    kEvent,          // one of its objects
    kCompactObject,  // inside data or metadata: written out
    kCompactArray,
    kSkip,  // anything else: parsed, not kept
  };
  // The member of the body or of an event whose value comes next.
  enum class Field : uint8_t {
    kOther,
    kExpected,
    kEvents,
    kType,
    kId,
    kData,
    kMetadata,
  };
  // Where a value that begins goes.
  enum class Slot : uint8_t {
    kIgnore,
    kRoot,
    kExpected,  // judged at once
    kEvents,
    kEvent,    // an element of "events"
    kType,     // the kind noted; a string's text kept
    kId,       // as kType
    kCompact,  // written to out_
  };
  struct Frame {
    Role role;
    bool first;        // no member or element of it written yet
    size_t keys_from;  // its member names in keys_ (compact objects)
    size_t members;
  };
  // A member name already written, as a span of *out_.
  struct KeySpan {
    size_t at;
    size_t size;
  };

  // A value of `kind` begins: notes its kind where the rules want it,
  // readies out_ for a compact one, and says where it goes.
  Slot Begin(JsonKind kind) {
    if (stack_.empty()) {
      root_is_object_ = kind == JsonKind::kObject;
      return root_is_object_ ? Slot::kRoot : Slot::kIgnore;
    }
    Frame& f = stack_.back();
    switch (f.role) {
      case Role::kBody:
        if (field_ == Field::kEvents) {
          body_.events_kind = kind;
          return kind == JsonKind::kArray ? Slot::kEvents : Slot::kIgnore;
        }
        if (field_ == Field::kExpected) {
          if (kind == JsonKind::kString || kind == JsonKind::kNumber) {
            return Slot::kExpected;
          }
          body_.expected = RevisionNotUnderstood();
        }
        return Slot::kIgnore;
      case Role::kEvents:
        body_.events.emplace_back().kind = kind;
        return kind == JsonKind::kObject ? Slot::kEvent : Slot::kIgnore;
      case Role::kEvent: {
        EventFields& e = body_.events.back();
        switch (field_) {
          case Field::kType:
            e.type_kind = kind;
            e.type.clear();
            return kind == JsonKind::kString ? Slot::kType : Slot::kIgnore;
          case Field::kId:
            e.id_kind = kind;
            e.id.clear();
            return kind == JsonKind::kString ? Slot::kId : Slot::kIgnore;
          case Field::kData:
            e.data.clear();
            out_ = &e.data;
            finite_ = &data_finite_;
            data_finite_ = true;
            return Slot::kCompact;
          case Field::kMetadata:
            e.metadata_kind = kind;
            e.metadata.clear();
            out_ = &e.metadata;
            finite_ = &metadata_finite_;
            metadata_finite_ = true;
            return Slot::kCompact;
          default:
            return Slot::kIgnore;
        }
      }
      case Role::kCompactArray:
        if (!f.first) out_->push_back(',');
        f.first = false;
        return Slot::kCompact;
      case Role::kCompactObject:  // its member's name is already written
        return Slot::kCompact;
      case Role::kSkip:
        return Slot::kIgnore;
    }
    return Slot::kIgnore;
  }

  void Literal(JsonKind kind, std::string_view text) {
    if (Begin(kind) == Slot::kCompact) out_->append(text);
  }

  void StringPart(json::string_view s) {
    if (!string_started_) {
      string_started_ = true;
      string_slot_ = Begin(JsonKind::kString);
      if (string_slot_ == Slot::kCompact) out_->push_back('"');
      if (string_slot_ == Slot::kExpected) text_.clear();
    }
    const std::string_view part(s.data(), s.size());
    switch (string_slot_) {
      case Slot::kCompact:
        WriteEscaped(part);
        break;
      case Slot::kExpected:
        text_.append(part);
        break;
      case Slot::kType:
        body_.events.back().type.append(part);
        break;
      case Slot::kId:
        body_.events.back().id.append(part);
        break;
      default:
        break;
    }
  }

  void KeyPart(json::string_view s) {
    Frame& f = stack_.back();
    if (!key_started_) {
      key_started_ = true;
      key_.clear();
      if (f.role == Role::kCompactObject) {
        out_->append(f.first ? "\"" : ",\"");
        f.first = false;
        key_at_ = out_->size() - 1;
      }
    }
    const std::string_view part(s.data(), s.size());
    if (f.role == Role::kCompactObject) {
      WriteEscaped(part);
    } else if (f.role == Role::kBody || f.role == Role::kEvent) {
      key_.append(part);
    }
  }

  // A string's text, escaped as AppendJsonEscaped would. The parser hands
  // over a piece of the body itself when it held no escape, and such a
  // piece needs none: a raw run of a JSON string holds no quote, no
  // backslash and no control character.
  void WriteEscaped(std::string_view part) {
    if (part.data() >= body_begin_ && part.data() + part.size() <= body_end_) {
      out_->append(part);
    } else {
      AppendJsonEscaped(out_, part);
    }
  }

  // The member name just written (quotes included) to a compact object:
  // false if the object repeats it or has too many members to look.
  // Escaping is one-to-one, so equal written names are equal names.
  bool EndCompactKey(Frame* f) {
    if (++f->members > kMaxReaderObjectMembers) return false;
    const std::string_view name(out_->data() + key_at_, out_->size() - key_at_);
    for (size_t i = f->keys_from; i < keys_.size(); ++i) {
      if (std::string_view(out_->data() + keys_[i].at, keys_[i].size) == name) {
        return false;
      }
    }
    keys_.push_back({key_at_, name.size()});
    return true;
  }

  const char* body_begin_;
  const char* body_end_;
  StreamAppendFields body_;
  bool root_is_object_ = false;
  bool needs_dom_ = false;
  std::vector<Frame> stack_;
  Field field_ = Field::kOther;
  std::string key_;  // a member name of the body or of an event
  bool key_started_ = false;
  size_t key_at_ = 0;  // where a compact object's member name begins
  std::vector<KeySpan> keys_;
  bool string_started_ = false;
  Slot string_slot_ = Slot::kIgnore;
  std::string text_;  // an expectedRevision string
  // The compact text being written, and its finiteness.
  std::string* out_ = nullptr;
  bool* finite_ = nullptr;
  bool data_finite_ = true;
  bool metadata_finite_ = true;
};

}  // namespace

Status MalformedJson(std::string_view reason) {
  return Status::InvalidArgument("malformed JSON: " + std::string(reason));
}

Status BodyNotAnObject() {
  return Status::InvalidArgument("the body must be a JSON object");
}

Status RevisionNotUnderstood() {
  return Status::InvalidArgument(
      "expectedRevision must be \"any\", \"no_stream\", \"exists\" or a "
      "revision number (a whole number from 0)");
}

std::optional<Result<StreamAppendFields>> ReadAppendBody(
    std::string_view body) {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  json::basic_parser<AppendBodyHandler> parser(options, body);
  error_code ec;
  const size_t n = parser.write_some(false, body.data(), body.size(), ec);
  if (parser.handler().needs_dom()) return std::nullopt;
  // As json::parse: what follows the value is an error.
  if (!ec && n < body.size()) ec = json::error::extra_data;
  if (ec) return MalformedJson(ec.message());
  if (!parser.handler().root_is_object()) return BodyNotAnObject();
  return std::move(parser.handler()).Take();
}

}  // namespace cairn::server
