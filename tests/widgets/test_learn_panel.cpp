// The Learn panel: its explanations cover every view, and the tour buttons ask for the
// right preset or comparison, against presets and variants that really exist.
#include <gtest/gtest.h>

#include <QPushButton>
#include <QSignalSpy>
#include <QTextBrowser>

#include "compare_panel.h"
#include "guided_tours.h"
#include "learn_panel.h"
#include "train/experiment_config.h"

using headlab::LearnPanel;

TEST(LearnPanel, InductionButtonStartsTheInductionPreset) {
  LearnPanel panel;
  QSignalSpy preset(&panel, &LearnPanel::presetTourRequested);
  QSignalSpy compare(&panel, &LearnPanel::compareTourRequested);
  QPushButton* button = panel.tourButton("induction");
  ASSERT_NE(button, nullptr);
  button->click();
  ASSERT_EQ(preset.count(), 1);
  EXPECT_EQ(preset.at(0).at(0).toString(), "induction-kha");
  EXPECT_EQ(compare.count(), 0);
  EXPECT_EQ(panel.activeTour(), "induction");
}

TEST(LearnPanel, KnockingButtonComparesBaselineWithKhaOnTheGrammarPreset) {
  LearnPanel panel;
  QSignalSpy preset(&panel, &LearnPanel::presetTourRequested);
  QSignalSpy compare(&panel, &LearnPanel::compareTourRequested);
  panel.tourButton("knocking")->click();
  ASSERT_EQ(compare.count(), 1);
  EXPECT_EQ(compare.at(0).at(0).toString(), "grammar-kha-vs-mha");
  EXPECT_EQ(compare.at(0).at(1).toStringList(), (QStringList{"baseline", "kha-linear"}));
  EXPECT_EQ(preset.count(), 0);
  EXPECT_FALSE(panel.startTour("no-such-tour"));
  EXPECT_EQ(compare.count(), 1);
}

TEST(LearnPanel, ToursUseShippedPresetsAndOfferedVariants) {
  QStringList shipped;
  for (const auto& [name, description] : headlab::train::list_presets()) shipped << QString::fromStdString(name);
  ASSERT_FALSE(headlab::guidedTours().empty());
  for (const auto& tour : headlab::guidedTours()) {
    EXPECT_TRUE(shipped.contains(tour.preset)) << tour.preset.toStdString();
    for (const QString& v : tour.compare)
      EXPECT_TRUE(headlab::ComparePanel::variantNames().contains(v)) << v.toStdString();
    EXPECT_FALSE(tour.watch.isEmpty());
  }
}

TEST(LearnPanel, ExplainsEveryViewAndTheModules) {
  const QString html = LearnPanel::explanationHtml();
  for (const char* topic : {"Loss chart", "Attention map", "Cross-head matrices", "Modules", "Heads", "Compare",
                            "Sample", "Knocking heads (KHA)", "Multi-head explicit attention (MEA)",
                            "Induction heads"})
    EXPECT_TRUE(html.contains(topic)) << topic;
}
