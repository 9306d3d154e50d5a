#include "variant_description.h"

#include <QObject>
#include <QStringList>

#include "run/compare.h"

namespace headlab::gui {
namespace {

using nlohmann::json;

const json& child(const json& j, const char* key) {
  static const json empty = json::object();
  const auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

}  // namespace

QString describeModel(const json& model) {
  const QString layout = QString::fromStdString(model.value("attention", std::string("gqa")));
  const int heads = model.value("n_heads", 0);
  const int kv = model.value("n_kv_heads", heads);
  QString text = layout == "mha" || layout == "mqa" || kv == heads
                     ? QObject::tr("%1 (%2 heads)").arg(layout).arg(heads)
                     : QObject::tr("%1 (%2 heads, %3 K/V heads)").arg(layout).arg(heads).arg(kv);
  const json& inter = child(model, "interaction");
  QStringList modules;
  const json& kha = child(inter, "kha");
  QStringList kha_parts;
  for (const char* which : {"q", "k", "v"}) {
    const std::string mode = kha.value(which, std::string("none"));
    if (mode != "none") kha_parts << QStringLiteral("%1 %2").arg(which, QString::fromStdString(mode));
  }
  if (!kha_parts.isEmpty()) modules << QObject::tr("KHA %1").arg(kha_parts.join(", "));
  const json& mea = child(inter, "mea");
  if (mea.value("enabled", false))
    modules << (mea.value("group_norm", true) ? QObject::tr("MEA with group norm") : QObject::tr("MEA without group norm"));
  if (child(inter, "talking_heads").value("enabled", inter.contains("talking_heads"))) modules << QObject::tr("talking heads");
  return text + "; " + (modules.isEmpty() ? QObject::tr("no interaction modules") : modules.join("; "));
}

QString describeVariant(const QString& variant, const json& base_experiment) {
  try {
    const run::Variant v = run::builtin_variant(variant.toStdString());
    json model = child(base_experiment, "model");
    for (auto it = v.model_patch.begin(); it != v.model_patch.end(); ++it) {
      if (it->is_null()) model.erase(it.key());
      else model[it.key()] = *it;
    }
    return describeModel(model);
  } catch (const std::exception& e) {
    return QString::fromStdString(e.what());
  }
}

}  // namespace headlab::gui
