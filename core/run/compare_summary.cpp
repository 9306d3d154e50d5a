// The torch-free part of a comparison (built into headlab_plain, so widgets can use it): sweep
// parsing, the statistics (summarize) and the files summary.json, summary.csv and runs.csv.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "common/errors.h"
#include "common/json_file.h"
#include "run/compare.h"

namespace headlab::run {
using nlohmann::json;

Sweep parse_sweep(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw InputError("--sweep '" + text + "': expected key=v1,v2,..., e.g. train.lr=3e-3,1e-2");
  Sweep s;
  s.key = text.substr(0, eq);
  std::stringstream values(text.substr(eq + 1));
  for (std::string v; std::getline(values, v, ',');) {
    if (v.empty()) throw InputError("--sweep '" + text + "': an empty value");
    json probe = json::object();
    apply_override(probe, "v=" + v);  // the same parsing as --set
    s.values.push_back(probe["v"]);
  }
  std::set<std::string> seen;
  for (const auto& v : s.values)
    if (!seen.insert(v.dump()).second) throw InputError("--sweep '" + text + "': " + v.dump() + " is given twice");
  return s;
}

std::filesystem::path run_directory_of(const std::filesystem::path& out_dir, const std::string& row, uint64_t seed,
                                       int64_t seeds) {
  return seeds == 1 ? out_dir / row : out_dir / row / ("seed-" + std::to_string(seed));
}

namespace {

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double number_or_nan(const json& j) { return j.is_number() ? j.get<double>() : std::nan(""); }

json estimate_to_json(const stats::Estimate& e) {
  return {{"n", e.n},           {"mean", number_or_null(e.mean)},       {"sd", number_or_null(e.sd)},
          {"ci_low", number_or_null(e.ci_low)}, {"ci_high", number_or_null(e.ci_high)}, {"confidence", e.confidence}};
}

stats::Estimate estimate_from_json(const json& j) {
  stats::Estimate e;
  e.n = j.at("n").get<int64_t>();
  e.mean = number_or_nan(j.at("mean"));
  e.sd = number_or_nan(j.at("sd"));
  e.ci_low = number_or_nan(j.at("ci_low"));
  e.ci_high = number_or_nan(j.at("ci_high"));
  e.confidence = j.value("confidence", 0.95);
  return e;
}

std::string csv_number(double v) {
  if (!std::isfinite(v)) return "";
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

// A name with a comma or quote is quoted, as RFC 4180 asks.
std::string csv_text(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

void summarize(std::vector<VariantSummary>& rows, double confidence) {
  if (rows.empty()) return;
  const std::string baseline_variant = rows.front().variant;
  std::map<std::string, size_t> baseline_of_point;  // point -> the baseline's row
  for (size_t r = 0; r < rows.size(); ++r)
    if (rows[r].variant == baseline_variant) baseline_of_point.emplace(rows[r].point.dump(), r);
  for (auto& row : rows) {
    std::sort(row.runs.begin(), row.runs.end(), [](const RunSummary& a, const RunSummary& b) { return a.seed < b.seed; });
    std::vector<double> losses;
    row.spikes = 0;
    row.tokens_per_second = 0;
    for (const auto& run : row.runs) {
      if (std::isfinite(run.final_val_loss)) losses.push_back(run.final_val_loss);
      row.spikes += static_cast<int64_t>(run.spike_steps.size());
      row.tokens_per_second += run.tokens_per_second / static_cast<double>(row.runs.size());
      row.parameters = run.parameters;
    }
    row.final_val_loss = stats::estimate_mean(losses, confidence);
  }
  for (auto& row : rows) {
    row.vs_baseline.reset();
    row.baseline.clear();
    row.spikes_not_in_baseline = 0;
    const auto b = baseline_of_point.find(row.point.dump());
    if (row.variant == baseline_variant || b == baseline_of_point.end()) continue;
    const auto& base = rows[b->second];
    row.baseline = base.name;
    // Pair by seed; a seed that one side lacks (or never validated) is left out of the pairs.
    std::map<uint64_t, const RunSummary*> base_runs;
    for (const auto& run : base.runs) base_runs[run.seed] = &run;
    std::vector<double> mine, theirs;
    for (const auto& run : row.runs) {
      const auto it = base_runs.find(run.seed);
      if (it == base_runs.end()) continue;
      const std::set<int64_t> base_spikes(it->second->spike_steps.begin(), it->second->spike_steps.end());
      for (int64_t step : run.spike_steps) row.spikes_not_in_baseline += base_spikes.count(step) == 0;
      if (std::isfinite(run.final_val_loss) && std::isfinite(it->second->final_val_loss)) {
        mine.push_back(run.final_val_loss);
        theirs.push_back(it->second->final_val_loss);
      }
    }
    row.vs_baseline = stats::compare_paired(mine, theirs, confidence);
  }
}

json summary_to_json(const std::vector<VariantSummary>& rows) {
  json variants = json::array();
  std::set<uint64_t> seeds;
  for (const auto& s : rows) {
    json runs = json::array();
    for (const auto& r : s.runs) {
      seeds.insert(r.seed);
      runs.push_back({{"seed", r.seed},
                      {"run_dir", r.run_dir},
                      {"final_train_loss", number_or_null(r.final_train_loss)},
                      {"final_val_loss", number_or_null(r.final_val_loss)},
                      {"final_val_loss_se", number_or_null(r.final_val_loss_se)},
                      {"spike_steps", r.spike_steps},
                      {"tokens_per_second", r.tokens_per_second},
                      {"parameters", r.parameters},
                      {"first_batch_hash", r.first_batch_hash}});
    }
    json v = {{"name", s.name},     {"variant", s.variant},
              {"point", s.point},   {"runs", runs},
              {"final_val_loss", estimate_to_json(s.final_val_loss)},
              {"spikes", s.spikes}, {"spikes_not_in_baseline", s.spikes_not_in_baseline},
              {"tokens_per_second", s.tokens_per_second}, {"parameters", s.parameters}};
    if (s.vs_baseline) {
      const auto& c = *s.vs_baseline;
      v["vs_baseline"] = {{"baseline", s.baseline},
                          {"differences", c.differences},
                          {"difference", estimate_to_json(c.difference)},
                          {"same_sign", c.same_sign},
                          {"verdict", stats::to_string(c.verdict)}};
    }
    variants.push_back(v);
  }
  return {{"format", "headlab-compare/2"}, {"seeds", std::vector<uint64_t>(seeds.begin(), seeds.end())},
          {"variants", variants}};
}

std::vector<VariantSummary> summary_from_json(const json& j) {
  try {
    if (!j.is_object() || j.value("format", "") != "headlab-compare/2")
      throw InputError("not a HeadLab comparison summary (format headlab-compare/2)");
    std::vector<VariantSummary> rows;
    for (const auto& v : j.at("variants")) {
      VariantSummary s;
      s.name = v.at("name").get<std::string>();
      s.variant = v.at("variant").get<std::string>();
      s.point = v.at("point");
      for (const auto& r : v.at("runs")) {
        RunSummary run;
        run.seed = r.at("seed").get<uint64_t>();
        run.run_dir = r.at("run_dir").get<std::string>();
        run.final_train_loss = number_or_nan(r.at("final_train_loss"));
        run.final_val_loss = number_or_nan(r.at("final_val_loss"));
        run.final_val_loss_se = number_or_nan(r.at("final_val_loss_se"));
        run.spike_steps = r.at("spike_steps").get<std::vector<int64_t>>();
        run.tokens_per_second = r.at("tokens_per_second").get<double>();
        run.parameters = r.at("parameters").get<int64_t>();
        run.first_batch_hash = r.at("first_batch_hash").get<uint64_t>();
        s.runs.push_back(run);
      }
      s.final_val_loss = estimate_from_json(v.at("final_val_loss"));
      s.spikes = v.at("spikes").get<int64_t>();
      s.spikes_not_in_baseline = v.at("spikes_not_in_baseline").get<int64_t>();
      s.tokens_per_second = v.at("tokens_per_second").get<double>();
      s.parameters = v.at("parameters").get<int64_t>();
      if (v.contains("vs_baseline")) {
        const auto& b = v.at("vs_baseline");
        stats::PairedComparison c;
        s.baseline = b.at("baseline").get<std::string>();
        c.differences = b.at("differences").get<std::vector<double>>();
        c.difference = estimate_from_json(b.at("difference"));
        c.same_sign = b.at("same_sign").get<int64_t>();
        const std::string verdict = b.at("verdict").get<std::string>();
        c.verdict = verdict == "lower"          ? stats::Verdict::Lower
                    : verdict == "higher"       ? stats::Verdict::Higher
                    : verdict == "within noise" ? stats::Verdict::WithinNoise
                                                : stats::Verdict::TooFewSeeds;
        s.vs_baseline = c;
      }
      rows.push_back(std::move(s));
    }
    return rows;
  } catch (const json::exception& e) {
    throw InputError("comparison summary: a field is missing or mistyped (" + json_error_text(e) + ")");
  }
}

std::string summary_to_csv(const std::vector<VariantSummary>& rows) {
  std::ostringstream out;
  out << "name,seeds,val_loss_mean,val_loss_sd,val_loss_ci_low,val_loss_ci_high,baseline,diff_mean,diff_ci_low,"
         "diff_ci_high,same_sign,verdict,spikes,spikes_not_in_baseline,tokens_per_second,parameters\n";
  for (const auto& s : rows) {
    const auto& e = s.final_val_loss;
    out << csv_text(s.name) << "," << s.runs.size() << "," << csv_number(e.mean) << "," << csv_number(e.sd) << ","
        << csv_number(e.ci_low) << "," << csv_number(e.ci_high) << "," << csv_text(s.baseline) << ",";
    if (s.vs_baseline) {
      const auto& d = s.vs_baseline->difference;
      out << csv_number(d.mean) << "," << csv_number(d.ci_low) << "," << csv_number(d.ci_high) << ","
          << s.vs_baseline->same_sign << "/" << s.vs_baseline->differences.size() << ","
          << stats::to_string(s.vs_baseline->verdict);
    } else {
      out << ",,,,";
    }
    out << "," << s.spikes << "," << s.spikes_not_in_baseline << "," << csv_number(s.tokens_per_second) << ","
        << s.parameters << "\n";
  }
  return out.str();
}

std::string runs_to_csv(const std::vector<VariantSummary>& rows) {
  std::ostringstream out;
  out << "name,seed,final_train_loss,final_val_loss,final_val_loss_se,spikes,tokens_per_second,parameters,"
         "first_batch_hash,run_dir\n";
  for (const auto& s : rows)
    for (const auto& r : s.runs)
      out << csv_text(s.name) << "," << r.seed << "," << csv_number(r.final_train_loss) << ","
          << csv_number(r.final_val_loss) << "," << csv_number(r.final_val_loss_se) << "," << r.spike_steps.size()
          << "," << csv_number(r.tokens_per_second) << "," << r.parameters << "," << r.first_batch_hash << ","
          << csv_text(r.run_dir) << "\n";
  return out.str();
}

}  // namespace headlab::run
