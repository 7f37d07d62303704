// Sweep specs: reading (declared fields) and expansion into points, each checked by loading its run config.
#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/config.h"
#include "common/error.h"
#include "common/files.h"
#include "sim/sweep.h"

namespace npusim::sim {

namespace {

namespace fs = std::filesystem;

// One option of one axis group: the (field, value) pairs it sets, with the spec line that names each. `value` is
// the text shown and matched by filters; `yaml` the value as YAML for the override (quoted where the spec quoted
// it, so that "*_fp16.jsonl" stays a string).
struct Assignment {
  std::string field, value, origin, yaml;
};
using Option = std::vector<Assignment>;

std::string value_yaml(const YAML::Node& v) {
  YAML::Emitter out;
  out << YAML::Flow << v;
  return out.c_str();
}

std::string value_text(const YAML::Node& v) {
  return v.IsScalar() ? v.Scalar() : value_yaml(v);
}

// One axis: `field` and its `values`.
std::vector<Option> read_axis(ConfigSection a) {
  const std::string field = a.text("field",
                                   "config field by its path, as --set takes it (npu.dram.channels, "
                                   "max_requests, model.num_layers, ...)",
                                   std::nullopt);
  const YAML::Node values = a.list("values", "the values it takes, in order", true);
  a.finish();
  if (a.documenting()) return {};
  if (values.size() == 0) a.fail(values, "values", "expected at least one value");
  std::vector<Option> out;
  for (const YAML::Node& v : values) {
    if (v.IsNull()) a.fail(v, "values", "expected a value, got nothing");
    const std::string text = value_text(v);
    out.push_back({{field, text, location_prefix(a.file(), line_of(v)) + a.path() + " " + field + "=" + text,
                    value_yaml(v)}});
  }
  return out;
}

// One entry of `axes`: an axis, or a zip of axes that vary together.
std::vector<Option> read_axis_group(ConfigSection g) {
  if (!g.has("zip")) return read_axis(std::move(g));
  const YAML::Node zip =
      g.list("zip", "axes that vary together: the i-th point takes the i-th value of each", true);
  g.finish();
  std::vector<Option> out;
  for (size_t i = 0; i < zip.size(); ++i) {
    const std::vector<Option> axis =
        read_axis(ConfigSection(zip[i], g.file(), g.path() + ".zip[" + std::to_string(i) + "]"));
    if (i == 0) {
      out = axis;
      continue;
    }
    if (axis.size() != out.size()) {
      g.fail(zip[i], "zip",
             "axis " + std::to_string(i) + " has " + std::to_string(axis.size()) + " values, the first " +
                 std::to_string(out.size()) + ": zipped axes need as many");
    }
    for (size_t k = 0; k < out.size(); ++k) out[k].push_back(axis[k].front());
  }
  if (out.empty()) g.fail(zip, "zip", "expected at least one axis");
  return out;
}

// A mapping of field -> value (an explicit point or a filter), in file order.
Option read_assignments(const ConfigSection& s, const YAML::Node& m, const std::string& key) {
  if (!m.IsMap() || m.size() == 0) s.fail(m, key, "expected a mapping of field: value");
  Option out;
  for (const auto& kv : m) {
    if (!kv.first.IsScalar()) s.fail(kv.first, key, "expected a field name (key.path), got a sequence or mapping");
    const std::string field = kv.first.as<std::string>();
    const std::string text = value_text(kv.second);
    out.push_back({field, text, location_prefix(s.file(), line_of(kv.second)) + key + " " + field + "=" + text,
                   value_yaml(kv.second)});
  }
  return out;
}

void read_spec(ConfigSection& s, SweepSpec* spec, std::vector<Override>* sets,
               std::vector<std::vector<Option>>* axes, std::vector<Option>* points,
               std::vector<Option>* excludes) {
  spec->name =
      s.text("name", "sweep name: results go to results/sweeps/<name> unless --out says otherwise", std::nullopt);
  spec->base_run =
      s.text("base", "the run every point starts from (configs/runs/*.yaml), relative to this file", std::nullopt);
  s.text("description", "what the sweep is for", std::string());
  const YAML::Node set = s.list("set", "overrides of every point, key.path=value, as --set takes them", false);
  const YAML::Node axis_list =
      s.list("axes",
             "the cartesian product of these (the first varies slowest); an entry is {field, values} or {zip: "
             "[{field, values}, ...]}",
             false);
  const YAML::Node point_list =
      s.list("points", "explicit points, each a mapping field: value, after the product", false);
  const YAML::Node exclude_list =
      s.list("exclude", "filters: a point whose fields match every field: value of an entry is dropped", false);
  s.finish();
  if (s.documenting()) return;
  for (const YAML::Node& o : set) {
    if (!o.IsScalar()) s.fail(o, "set", "expected key.path=value");
    sets->push_back({o.Scalar(), location_prefix(s.file(), line_of(o)) + "set " + o.Scalar()});
  }
  for (size_t i = 0; i < axis_list.size(); ++i) {
    axes->push_back(read_axis_group(ConfigSection(axis_list[i], s.file(), "axes[" + std::to_string(i) + "]")));
  }
  for (const YAML::Node& p : point_list) points->push_back(read_assignments(s, p, "points"));
  for (const YAML::Node& e : exclude_list) excludes->push_back(read_assignments(s, e, "exclude"));
  if (axes->empty() && points->empty())
    s.fail(YAML::Node(), "axes", "expected axes or points (a sweep of nothing)");
}

// FNV-1a, 64 bits: a stable hash of the resolved config (std::hash may differ between builds).
struct Hash {
  uint64_t h = 1469598103934665603ULL;
  void add(const std::string& bytes) {
    for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;  // a separator, so that ("ab","c") and ("a","bc") differ
  }
  std::string hex() const {
    static const char* digits = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 0; i < 16; ++i) out[static_cast<size_t>(15 - i)] = digits[(h >> (4 * i)) & 0xf];
    return out;
  }
};

}  // namespace

SweepSpec load_sweep_spec(const std::string& path, size_t max_points) {
  const YAML::Node root = load_yaml_file(path);
  ConfigSection s(root, path);
  SweepSpec spec;
  spec.file = path;
  std::vector<Override> sets;
  std::vector<std::vector<Option>> axes;
  std::vector<Option> explicit_points, excludes;
  read_spec(s, &spec, &sets, &axes, &explicit_points, &excludes);
  spec.base_run = fs::path(spec.base_run).is_absolute()
                      ? spec.base_run
                      : (fs::path(path).parent_path() / spec.base_run).lexically_normal().string();
  if (!fs::is_regular_file(spec.base_run)) s.fail(s.node_of("base"), "base", "no such file: " + spec.base_run);

  // A filter on a field no axis or point sets would silently drop nothing: a misspelling.
  std::set<std::string> swept;
  for (const std::vector<Option>& group : axes) {
    for (const Assignment& a : group.front()) swept.insert(a.field);
  }
  for (const Option& o : explicit_points) {
    for (const Assignment& a : o) swept.insert(a.field);
  }
  for (const Option& e : excludes) {
    for (const Assignment& want : e) {
      if (!swept.count(want.field)) throw InputError(want.origin + ": no axis or point sets " + want.field);
    }
  }
  // Counted before expanding (12 axes of 10 values are 10^12 points from a 1 KB spec), saturating.
  size_t count = axes.empty() ? 0 : 1;
  for (const std::vector<Option>& group : axes) {
    count = group.size() != 0 && count > max_points / group.size() ? max_points + 1 : count * group.size();
  }
  count = std::min(count + explicit_points.size(), max_points + 1);
  if (count > max_points) {
    throw InputError(path + ": the spec gives more than " + std::to_string(max_points) +
                     " points (the product of its axes and its explicit points, before filters); --max-points N "
                     "raises the limit");
  }
  // The product, the first axis slowest; then the explicit points.
  std::vector<Option> options{Option{}};
  for (const std::vector<Option>& group : axes) {
    std::vector<Option> next;
    for (const Option& prefix : options) {
      for (const Option& o : group) {
        Option combined = prefix;
        combined.insert(combined.end(), o.begin(), o.end());
        next.push_back(std::move(combined));
      }
    }
    options = std::move(next);
  }
  if (axes.empty()) options.clear();
  options.insert(options.end(), explicit_points.begin(), explicit_points.end());

  std::map<std::string, std::string> file_hashes;  // a file read once, however many points name it
  const auto file_hash = [&](const std::string& file) {
    auto it = file_hashes.find(file);
    if (it == file_hashes.end()) {
      Hash h;
      h.add(read_file(file));
      it = file_hashes.emplace(file, h.hex()).first;
    }
    return it->second;
  };
  std::set<std::string> seen;
  RunFileCache files;  // every point reads the same traces: parse them once
  for (const Option& o : options) {
    bool excluded = false;
    for (const Option& e : excludes) {
      bool all = true;
      for (const Assignment& want : e) {
        bool match = false;
        for (const Assignment& have : o) match = match || (have.field == want.field && have.value == want.value);
        all = all && match;
      }
      excluded = excluded || all;
    }
    if (excluded) {
      ++spec.excluded;
      continue;
    }
    SweepPoint p;
    p.overrides = sets;
    for (const Assignment& a : o) {
      p.fields.emplace_back(a.field, a.value);
      p.overrides.push_back({a.field + "=" + a.yaml, a.origin});
      if (std::find(spec.fields.begin(), spec.fields.end(), a.field) == spec.fields.end()) {
        spec.fields.push_back(a.field);
      }
    }
    // Loading checks every field as a run would, and names the files whose bytes make the resolved config.
    const RunConfig run = load_run_config(spec.base_run, p.overrides, &files);
    Hash h;
    for (const Override& ov : p.overrides) h.add(ov.assignment);
    for (const std::string& f : {spec.base_run, run.npu_file, run.reference_file})
      h.add(f.empty() ? "" : file_hash(f));
    for (const std::string& f : run.model_files) h.add(file_hash(f));
    for (const std::string& f : run.trace_files) h.add(file_hash(f));
    p.hash = h.hex();
    if (!seen.insert(p.hash).second) {
      ++spec.duplicates;
      continue;
    }
    p.index = spec.points.size();
    spec.points.push_back(std::move(p));
  }
  if (spec.points.empty()) throw InputError(path + ": every point is excluded: nothing to run");
  return spec;
}

void describe_sweep_spec(std::vector<FieldDoc>* docs) {
  ConfigSection s = ConfigSection::for_docs(docs);
  SweepSpec spec;
  std::vector<Override> sets;
  std::vector<std::vector<Option>> axes;
  std::vector<Option> points, excludes;
  read_spec(s, &spec, &sets, &axes, &points, &excludes);
  read_axis(ConfigSection::for_docs(docs, "axes[]"));
}

std::string point_dir(const std::string& sweep_dir, const SweepPoint& point) {
  return (fs::path(sweep_dir) / "points" / point.hash).string();
}

std::string point_done_file(const std::string& sweep_dir, const SweepPoint& point) {
  return (fs::path(point_dir(sweep_dir, point)) / "point.json").string();
}

bool point_finished(const std::string& sweep_dir, const SweepPoint& point) {
  const std::string file = point_done_file(sweep_dir, point);
  if (!fs::is_regular_file(file)) return false;
  try {
    const nlohmann::json j = nlohmann::json::parse(read_file(file));
    return j.is_object() && j.value("hash", std::string()) == point.hash;
  } catch (const std::exception&) {
    return false;  // garbage (a hand edit, a disk fault): run the point again
  }
}

}  // namespace npusim::sim
