#pragma once
// What a comparison variant really trains, in words, for the Compare dock: the experiment
// form's model with the variant's patch applied by the engine's own table
// (run::builtin_variant), then its attention layout and interaction modules named. A fixed
// sentence per variant said "plain multi-head attention" for a baseline that kept a gqa form's
// layout, and "modules included" for a form without any.
#include <QString>
#include <nlohmann/json.hpp>

namespace headlab::gui {

// "gqa (8 heads, 2 K/V heads); KHA q linear, k linear, v mlp; MEA with group norm; talking heads"
// or "...; no interaction modules". The model section as the engine reads it (MODEL.md §5).
QString describeModel(const nlohmann::json& model);

// describeModel of `base_experiment`'s model patched as `variant` patches it; the engine's
// message for an unknown variant.
QString describeVariant(const QString& variant, const nlohmann::json& base_experiment);

}  // namespace headlab::gui
