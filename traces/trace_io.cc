// Reader, validator and writer of the pmpd-trace JSON Lines format (DESIGN.md, "Schedule traces").
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "common/error.h"
#include "common/files.h"
#include "traces/trace.h"

namespace npusim::traces {
namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* kFormatName = "pmpd-trace";
// Keys in the order DESIGN.md shows them; the writer emits them in this order and the reader knows them.
const char* const kHeaderKeys[] = {"format",    "version",    "model",         "task",
                                   "scheduler", "precisions", "weight_format", "source"};
const char* const kRequestKeys[] = {"id", "prompt_tokens", "prefill_bits", "decode", "eos"};

// A value as a message shows it: JSON text, cut short so that a huge array does not flood the terminal.
std::string brief(const ojson& value) {
  std::string text = value.dump(-1, ' ', false, ojson::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// The faults of one line of one trace: "NAME:LINE: FIELD: what".
struct LineContext {
  const std::string& name;
  int line;

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw InputError(location_prefix(name, line) + (field.empty() ? "" : field + ": ") + what);
  }

  const ojson& require(const ojson& object, const std::string& key) const {
    const auto it = object.find(key);
    if (it == object.end()) fail(key, "required field missing");
    return *it;
  }

  std::string text(const ojson& value, const std::string& field) const {
    if (!value.is_string() || value.get<std::string>().empty()) {
      fail(field, "expected a non-empty string, got " + brief(value));
    }
    return value.get<std::string>();
  }

  // A token or step count: positive, and at most kMaxTraceTokens (no model has a longer context; larger values
  // are typos that would only make a run hang).
  int64_t positive(const ojson& value, const std::string& field) const {
    const bool fits = value.is_number_integer() &&
                      !(value.is_number_unsigned() &&
                        value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
    if (!fits || value.get<int64_t>() <= 0) fail(field, "expected a positive integer, got " + brief(value));
    if (value.get<int64_t>() > kMaxTraceTokens) {
      fail(field, brief(value) + " exceeds " + std::to_string(kMaxTraceTokens) + ", the longest length accepted");
    }
    return value.get<int64_t>();
  }

  int bits(const ojson& value, const std::string& field) const {
    if (!value.is_number_integer() || !valid_bits(value.get<int64_t>())) {
      fail(field, "expected a bit width (1..8, or 16 for fp16), got " + brief(value));
    }
    return static_cast<int>(value.get<int64_t>());
  }
};

// Bounds on one line: its length (a trace's lines are a few hundred bytes; a file without newlines, such as
// /dev/zero, would otherwise grow one line for ever) and how deep its arrays and objects nest (a line nested a
// million deep overflowed the stack when its JSON was copied).
constexpr size_t kMaxLineBytes = size_t{16} << 20;
constexpr int kMaxNesting = 64;

// Reads one line without its '\n' into `text`; false at the end of the input. A line longer than
// kMaxLineBytes is an error on its line.
bool read_line(std::istream& in, std::string* text, const std::string& name, int line) {
  text->clear();
  std::streambuf* buf = in.rdbuf();
  bool any = false;
  for (int c = buf->sbumpc(); c != std::char_traits<char>::eof(); c = buf->sbumpc()) {
    any = true;
    if (c == '\n') return true;
    if (text->size() == kMaxLineBytes) {
      LineContext{name, line}.fail("", "line longer than " + std::to_string(kMaxLineBytes >> 20) +
                                           " MiB (every line is one JSON object of a few hundred bytes)");
    }
    text->push_back(static_cast<char>(c));
  }
  return any;
}

// How deep the line's arrays and objects nest, outside strings.
int nesting_depth(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// Parses one line, reporting malformed JSON and duplicate keys (which nlohmann would silently collapse, hiding
// e.g. two "decode" fields of which one is lost).
ojson parse_line(const std::string& text, const LineContext& ctx) {
  if (nesting_depth(text) > kMaxNesting) {
    ctx.fail("", "arrays and objects nested deeper than " + std::to_string(kMaxNesting) +
                     " (a pmpd-trace line nests at most 4 deep)");
  }
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  const ojson::parser_callback_t track_keys = [&](int, ojson::parse_event_t event, ojson& parsed) {
    if (event == ojson::parse_event_t::object_start) open_objects.emplace_back();
    if (event == ojson::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == ojson::parse_event_t::key && !open_objects.empty() && duplicate.empty() &&
        !open_objects.back().insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  ojson value;
  try {
    value = ojson::parse(text, track_keys);
  } catch (const ojson::exception& e) {  // a syntax error, or a number beyond double's range (1e405)
    ctx.fail("", std::string("invalid JSON: ") + e.what());
  }
  if (!duplicate.empty()) ctx.fail(duplicate, "field appears more than once on this line");
  return value;
}

TraceHeader parse_header(const ojson& j, const LineContext& ctx) {
  if (!j.is_object()) ctx.fail("", "expected the pmpd-trace header object, got " + brief(j));
  // The format comes first: a file of another kind should be told so before anything else.
  const auto format = j.find("format");
  if (format == j.end()) {
    ctx.fail("format", "required field missing (line 1 must be a pmpd-trace header; is this a trace file?)");
  }
  if (*format != kFormatName) {
    ctx.fail("format", "unknown format " + brief(*format) + " (expected \"" + kFormatName + "\")");
  }
  const ojson& version = ctx.require(j, "version");
  if (!version.is_number_integer()) ctx.fail("version", "expected an integer, got " + brief(version));
  if (version != kTraceVersion) {
    ctx.fail("version", brief(version) + " is not supported (this reader reads version " +
                            std::to_string(kTraceVersion) + ")");
  }
  for (const auto& item : j.items()) {
    bool known = false;
    for (const char* key : kHeaderKeys) known = known || item.key() == key;
    if (!known) {
      ctx.fail(item.key(),
               "unknown header field (expected: format, version, model, task, scheduler, "
               "precisions, weight_format, source; put free-form provenance inside \"source\")");
    }
  }
  TraceHeader header;
  header.model = ctx.text(ctx.require(j, "model"), "model");
  header.task = ctx.text(ctx.require(j, "task"), "task");
  header.scheduler = ctx.text(ctx.require(j, "scheduler"), "scheduler");
  const ojson& precisions = ctx.require(j, "precisions");
  if (!precisions.is_array() || precisions.empty()) {
    ctx.fail("precisions",
             "expected a non-empty list of bit widths, high first (e.g. [3, 2]), got " + brief(precisions));
  }
  for (size_t i = 0; i < precisions.size(); ++i) {
    header.precisions.push_back(ctx.bits(precisions[i], "precisions[" + std::to_string(i) + "]"));
    // 'high' and 'low' configurations read the pair by position, so the order is part of the format.
    if (i > 0 && header.precisions[i] >= header.precisions[i - 1]) {
      ctx.fail("precisions",
               "expected strictly decreasing bit widths, high first (e.g. [3, 2]), got " + brief(precisions));
    }
  }
  header.weight_format = ctx.text(ctx.require(j, "weight_format"), "weight_format");
  if (header.weight_format != "anyprec" && header.weight_format != "uniform" && header.weight_format != "fp16") {
    ctx.fail("weight_format", "\"" + header.weight_format + "\" is not one of: anyprec, uniform, fp16");
  }
  const auto source = j.find("source");
  if (source != j.end()) {
    if (!source->is_object())
      ctx.fail("source", "expected an object (free-form provenance), got " + brief(*source));
    header.source = *source;
  }
  return header;
}

Request parse_request(const ojson& j, const LineContext& ctx) {
  if (!j.is_object()) ctx.fail("", "expected a request object, got " + brief(j));
  Request r;
  r.id = ctx.text(ctx.require(j, "id"), "id");
  r.prompt_tokens = ctx.positive(ctx.require(j, "prompt_tokens"), "prompt_tokens");
  r.prefill_bits = ctx.bits(ctx.require(j, "prefill_bits"), "prefill_bits");
  const ojson& decode = ctx.require(j, "decode");
  if (!decode.is_array()) ctx.fail("decode", "expected a list of [bits, steps] pairs, got " + brief(decode));
  for (size_t i = 0; i < decode.size(); ++i) {
    const std::string field = "decode[" + std::to_string(i) + "]";
    const ojson& pair = decode[i];
    if (!pair.is_array() || pair.size() != 2) ctx.fail(field, "expected a [bits, steps] pair, got " + brief(pair));
    r.decode.push_back({ctx.bits(pair[0], field + " bits"), ctx.positive(pair[1], field + " steps")});
  }
  const ojson& eos = ctx.require(j, "eos");
  if (!eos.is_boolean()) ctx.fail("eos", "expected true or false, got " + brief(eos));
  r.eos = eos.get<bool>();
  // The format allows optional per-request extras (learned class, quality scores): keep them verbatim.
  for (const auto& item : j.items()) {
    bool known = false;
    for (const char* key : kRequestKeys) known = known || item.key() == key;
    if (!known) r.extras[item.key()] = item.value();
  }
  return r;
}

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

ojson header_json(const TraceHeader& h) {
  ojson j;
  j["format"] = kFormatName;
  j["version"] = kTraceVersion;
  j["model"] = h.model;
  j["task"] = h.task;
  j["scheduler"] = h.scheduler;
  j["precisions"] = h.precisions;
  j["weight_format"] = h.weight_format;
  if (!h.source.is_null()) {
    if (!h.source.is_object()) throw InputError("trace header: source must be a JSON object");
    j["source"] = h.source;
  }
  return j;
}

ojson request_json(const Request& r) {
  ojson j;
  j["id"] = r.id;
  j["prompt_tokens"] = r.prompt_tokens;
  j["prefill_bits"] = r.prefill_bits;
  j["decode"] = ojson::array();
  for (const Segment& s : r.decode) j["decode"].push_back(ojson::array({s.bits, s.steps}));
  j["eos"] = r.eos;
  if (r.extras.is_null()) return j;
  if (!r.extras.is_object()) throw InputError("request " + r.id + ": extras must be a JSON object");
  for (const auto& item : r.extras.items()) {
    if (j.contains(item.key())) {
      throw InputError("request " + r.id + ": extras field \"" + item.key() + "\" collides with a trace field");
    }
    j[item.key()] = item.value();
  }
  return j;
}

std::string dump_line(const ojson& j) {
  try {
    return j.dump() + "\n";
  } catch (const ojson::type_error& e) {  // invalid UTF-8 in a string
    throw InputError(std::string("trace: cannot serialise: ") + e.what());
  }
}

}  // namespace

int64_t Request::decode_steps() const {
  int64_t steps = 0;
  for (const Segment& s : decode) steps += s.steps;
  return steps;
}

Trace parse_trace(std::istream& in, const std::string& name) {
  Trace trace;
  bool have_header = false;
  int first_blank = 0;  // first blank line of a blank run; an error only if a non-blank line follows
  std::map<std::string, int> id_lines;
  std::string text;
  for (int line = 1; read_line(in, &text, name, line); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    const LineContext ctx{name, line};
    if (blank(text)) {
      if (first_blank == 0) first_blank = line;
      continue;
    }
    if (first_blank != 0) {
      LineContext{name, first_blank}.fail("",
                                          "blank line inside the trace (blank lines are allowed only at the "
                                          "end; every line is one JSON object)");
    }
    const ojson j = parse_line(text, ctx);
    if (!have_header) {
      trace.header = parse_header(j, ctx);
      have_header = true;
      continue;
    }
    Request r = parse_request(j, ctx);
    const auto [it, inserted] = id_lines.emplace(r.id, line);
    if (!inserted) {
      ctx.fail("id", "duplicate request id \"" + r.id + "\" (first on line " + std::to_string(it->second) + ")");
    }
    trace.requests.push_back(std::move(r));
  }
  if (in.bad()) throw InputError(name + ": read error");
  if (!have_header) {
    LineContext{name, 1}.fail("format", "empty trace: expected a pmpd-trace header line");
  }
  if (trace.requests.empty()) {
    LineContext{name, 1}.fail("requests",
                              "the trace has a header but no requests (expected one request per "
                              "line after the header)");
  }
  return trace;
}

Trace read_trace(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open trace file");
  return parse_trace(in, path);
}

void check_bits(const Trace& trace, const std::string& name, const std::vector<int>& allowed_bits) {
  std::string allowed;
  for (int b : allowed_bits) allowed += (allowed.empty() ? "" : ", ") + std::to_string(b);
  const auto ok = [&](int bits) {
    for (int b : allowed_bits) {
      if (b == bits) return true;
    }
    return false;
  };
  for (size_t i = 0; i < trace.requests.size(); ++i) {
    const Request& r = trace.requests[i];
    // Request i sits on line i + 2 of the written trace: the header is line 1 and blank lines only trail.
    const LineContext ctx{name, static_cast<int>(i) + 2};
    const std::string suffix = " bits, but this run executes only: " + allowed + " (request \"" + r.id + "\")";
    if (!ok(r.prefill_bits)) ctx.fail("prefill_bits", "prefill at " + std::to_string(r.prefill_bits) + suffix);
    for (size_t k = 0; k < r.decode.size(); ++k) {
      if (!ok(r.decode[k].bits)) {
        ctx.fail("decode[" + std::to_string(k) + "]", std::to_string(r.decode[k].steps) + " decode steps at " +
                                                          std::to_string(r.decode[k].bits) + suffix);
      }
    }
  }
}

std::string write_trace(const Trace& trace) {
  std::string out = dump_line(header_json(trace.header));
  for (const Request& r : trace.requests) out += dump_line(request_json(r));
  return out;
}

void write_trace_file(const Trace& trace, const std::string& path) {
  const std::string text = write_trace(trace);
  // Never leave a file that the reader would refuse (bad bit width, zero steps, duplicate id, no requests).
  std::istringstream check(text);
  parse_trace(check, path + " (about to be written)");
  write_file_atomic(path, text);
}

}  // namespace npusim::traces
