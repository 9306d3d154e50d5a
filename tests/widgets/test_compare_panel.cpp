// The compare panel: what it asks for, the progress it shows, the summary table and its
// tab-separated copy.
#include <gtest/gtest.h>

#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <cmath>

#include "compare_panel.h"

using headlab::ComparePanel;
using headlab::run::VariantSummary;

TEST(ComparePanel, StartAsksForTheTickedVariantsOrSaysWhyNot) {
  ComparePanel panel;
  QSignalSpy spy(&panel, &ComparePanel::startRequested);
  panel.setCheckedVariants({});
  panel.startButton()->click();
  EXPECT_EQ(spy.count(), 0);
  EXPECT_TRUE(panel.messageLabel()->text().contains("Tick at least one variant"));

  panel.setCheckedVariants({"mea", "baseline", "no-such-variant"});
  panel.setInterleaved(true);
  panel.setOutputFolder("/tmp/cmp");
  panel.startButton()->click();
  ASSERT_EQ(spy.count(), 1);
  EXPECT_EQ(spy.at(0).at(0).toStringList(), (QStringList{"baseline", "mea"}));  // the panel's order
  EXPECT_TRUE(spy.at(0).at(1).toBool());
  EXPECT_EQ(spy.at(0).at(2).toString(), "/tmp/cmp");

  // While running: no second start, Cancel is offered.
  panel.setRunning(true);
  EXPECT_FALSE(panel.startButton()->isEnabled());
  EXPECT_TRUE(panel.cancelButton()->isEnabled());
  QSignalSpy cancel(&panel, &ComparePanel::cancelRequested);
  panel.cancelButton()->click();
  EXPECT_EQ(cancel.count(), 1);
  panel.requestStart();
  EXPECT_EQ(spy.count(), 1);

  panel.setProgress(1, 2, "mea", 30, 120);
  EXPECT_EQ(panel.progressBar()->maximum(), 120);
  EXPECT_EQ(panel.progressBar()->value(), 30);
}

TEST(ComparePanel, SummaryTableAndItsCopy) {
  ComparePanel panel;
  panel.setRunning(true);
  VariantSummary a{"baseline", "/x/baseline", 1.25, 1.5, 0, 1000.4, 5000, 42};
  VariantSummary b{"kha-linear", "/x/kha-linear", 1.125, std::nan(""), 2, 900, 5384, 42};
  panel.setSummary("/x", {a, b});
  EXPECT_FALSE(panel.isRunning());
  QTableWidget* t = panel.summaryTable();
  ASSERT_EQ(t->rowCount(), 2);
  EXPECT_EQ(t->item(1, 0)->text(), "kha-linear");
  EXPECT_EQ(t->item(0, 1)->text(), "1.2500");
  EXPECT_EQ(t->item(1, 2)->text(), "-");  // never validated
  EXPECT_EQ(t->item(1, 5)->text(), "5384");
  EXPECT_TRUE(panel.openFolderButton()->isEnabled());
  EXPECT_TRUE(panel.copyButton()->isEnabled());
  EXPECT_EQ(panel.resultFolder(), "/x");
  EXPECT_TRUE(panel.messageLabel()->text().contains("same batches"));
  EXPECT_EQ(panel.tableText(),
            "variant\ttrain loss\tval loss\tspikes\ttokens/s\tparameters\n"
            "baseline\t1.25\t1.5\t0\t1000.4\t5000\n"
            "kha-linear\t1.125\t\t2\t900\t5384\n");

  b.first_batch_hash = 7;
  panel.setSummary("/x", {a, b});
  EXPECT_TRUE(panel.messageLabel()->text().contains("different data"));
}
