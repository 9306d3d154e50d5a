// What the window shows after opening or resuming a run, and the module table after actions
// on a live model (issue #17 items 4 and 5), on the real session.
// LibTorch before Qt: Qt's `slots` macro breaks ATen's headers.
#include "io/hf_export.h"
#include "common/json_file.h"

#include <filesystem>

#include <gtest/gtest.h>

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QFileInfo>
#include <QMessageBox>
#include <QSpinBox>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>

#include "attention_map_view.h"
#include "experiment_panel.h"
#include "loss_chart.h"
#include "main_window.h"
#include "module_panel.h"
#include "run_controls.h"
#include "session_feed.h"
#include "session_launcher.h"
#include "tiny_run.h"
#include "window_status.h"

using headlab::gui::MainWindow;
using headlab::model::ModuleAction;
using headlab::model::ModuleKind;
using headlab::model::ModuleState;
using headlab::session::RunState;
using headlab::testing::windowStatus;

namespace {

bool openAndWait(MainWindow& w, const QString& path) {
  QString error;
  if (!w.openPath(path, &error)) {
    ADD_FAILURE() << error.toStdString();
    return false;
  }
  return QTest::qWaitFor([&] { return !w.launcher()->busy() && w.attentionView()->snapshot(); }, 20000);
}

}  // namespace

// An opened step-5 checkpoint is step 5 everywhere, and the form shows the run's settings
// instead of the preset it showed before.
TEST(LoadedState, AnOpenedCheckpointShowsItsStepAndItsRunsSettings) {
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  headlab::testing::makeTinyRun(run.toStdString(), 10);
  MainWindow w;
  ASSERT_TRUE(w.experimentPanel()->selectPreset("recall-mea"));
  ASSERT_TRUE(openAndWait(w, run + "/checkpoints/step-5"));
  EXPECT_EQ(windowStatus(w).step, 5);
  EXPECT_EQ(w.attentionView()->snapshot()->step, 5);
  EXPECT_EQ(w.experimentPanel()->presetName(), "");
  EXPECT_EQ(w.experimentPanel()->layersBox()->value(), 2);
  EXPECT_EQ(w.experimentPanel()->headsBox()->value(), 2);
  EXPECT_EQ(w.experimentPanel()->dModelBox()->value(), 32);
  EXPECT_EQ(w.experimentPanel()->maxSeqLenBox()->value(), 32);
  EXPECT_EQ(w.experimentPanel()->stepsBox()->value(), 10);
  EXPECT_EQ(w.experimentPanel()->taskBox()->currentText(), "induction");
  EXPECT_EQ(w.experimentPanel()->khaBox('q')->currentText(), "linear");
  EXPECT_TRUE(w.experimentPanel()->talkingHeadsBox()->isChecked());

  // The run's final model is the run's last step.
  ASSERT_TRUE(openAndWait(w, run + "/model"));
  EXPECT_EQ(windowStatus(w).step, 10);
  EXPECT_EQ(w.attentionView()->snapshot()->step, 10);
}

// Resume a finished run, raise Steps, Start: the same run directory trains on to the new
// step count (it used to log "the run has finished all its steps").
TEST(LoadedState, AResumedRunTrainsFurtherWhenStepsIsRaised) {
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  headlab::testing::makeTinyRun(run.toStdString(), 10);
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  QString error;
  ASSERT_TRUE(w.resumeRun(run, &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.feed()->hasSession() && !w.launcher()->busy(); }, 20000));
  EXPECT_EQ(windowStatus(w).step, 10);
  EXPECT_EQ(w.experimentPanel()->stepsBox()->value(), 10);
  ASSERT_TRUE(w.experimentPanel()->isValid()) << w.experimentPanel()->problem().toStdString();

  w.experimentPanel()->stepsBox()->setValue(14);
  w.runControls()->startAction()->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] {
    const auto s = windowStatus(w);
    return !w.launcher()->busy() && s.total_steps == 14 && s.state == RunState::Finished;
  }, 60000)) << w.statusBar()->currentMessage().toStdString();
  EXPECT_EQ(windowStatus(w).step, 14);
  EXPECT_EQ(w.runDirectory(), run);
  EXPECT_EQ(w.lossChart()->metrics().size(), 14u);
  EXPECT_FALSE(QFileInfo::exists(dir.filePath("runs")));  // no new run was made
  EXPECT_EQ(w.experimentPanel()->stepsBox()->value(), 14);

  // Start again with the same Steps: nothing to train, and the window says how to go on.
  w.runControls()->startAction()->trigger();
  EXPECT_TRUE(w.statusBar()->currentMessage().contains("raise Steps")) << w.statusBar()->currentMessage().toStdString();
}

// Fold on a frozen KHA: the table says it is frozen at the identity now. Undo (Ctrl+Z) puts
// the freeze back. Inserting MEA in layer 0 shows layer 1's bypassed MEA and says so.
TEST(LoadedState, TheModuleTableFollowsFoldInsertAndUndo) {
  QTemporaryDir dir;
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  w.show();
  QString error;
  ASSERT_TRUE(w.startExperiment(headlab::testing::tinyExperiment(400), &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return windowStatus(w).step >= 3; }, 30000));
  w.runControls()->pauseAction()->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return windowStatus(w).state == RunState::Paused; }, 10000));
  headlab::ModulePanel* panel = w.modulePanel();

  panel->selectCells(ModuleKind::Kha, {0});
  panel->action(ModuleAction::Freeze)->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel->state(0, ModuleKind::Kha) == ModuleState::Frozen; }, 10000));
  EXPECT_FALSE(panel->atIdentity(0, ModuleKind::Kha));  // trained a few steps away from it
  panel->selectCells(ModuleKind::Kha, {0});
  panel->action(ModuleAction::Fold)->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel->atIdentity(0, ModuleKind::Kha); }, 10000));
  EXPECT_TRUE(panel->cellText(0, ModuleKind::Kha).startsWith("frozen · at identity"))
      << panel->cellText(0, ModuleKind::Kha).toStdString();
  EXPECT_EQ(panel->state(0, ModuleKind::Kha), ModuleState::Frozen);

  // The last undoable action is the freeze (fold merges weights away): undo activates.
  ASSERT_TRUE(panel->undoAction()->isEnabled());
  // Ctrl+Z reaches a window shortcut only in the active window.
  w.activateWindow();
  if (QTest::qWaitForWindowActive(&w)) QTest::keyClick(&w, Qt::Key_Z, Qt::ControlModifier);
  else panel->undoAction()->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel->state(0, ModuleKind::Kha) == ModuleState::Active; }, 10000));

  panel->selectCells(ModuleKind::Mea, {0});
  panel->action(ModuleAction::Insert)->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel->state(0, ModuleKind::Mea) == ModuleState::Active; }, 10000));
  EXPECT_EQ(panel->state(1, ModuleKind::Mea), ModuleState::Bypassed);
  EXPECT_TRUE(panel->warningText().contains("bypassed, in layer 1")) << panel->warningText().toStdString();
}

// A Hugging Face folder (here written by HeadLab's own export of a GPT-2-shaped model) opens
// like any model: File > Open and drag and drop both go through openPath.
TEST(LoadedState, AHuggingFaceFolderOpensAsAModel) {
  QTemporaryDir dir;
  const QString folder = dir.filePath("gpt2-tiny");
  headlab::model::ModelConfig c;
  c.vocab_size = 600;  // the tokenizer fixture has 559 ids
  c.d_model = 32;
  c.n_layers = 3;
  c.n_heads = 4;
  c.n_kv_heads = 4;
  c.head_dim = 8;
  c.d_ff = 64;
  c.attention = headlab::model::AttentionLayout::Mha;
  c.max_seq_len = 64;
  c.linear_bias = headlab::model::LinearBias::All;
  c.norm = headlab::model::NormKind::Layer;
  c.mlp = headlab::model::MlpKind::Gelu;
  c.positions = headlab::model::PositionKind::Learned;
  c.tie_embeddings = true;
  for (int64_t i = 0; i < c.n_layers; ++i) c.interaction.layers.push_back(i);
  headlab::model::Transformer m(c);
  ASSERT_EQ(headlab::io::export_hf_model(m, folder.toStdString()).architecture, "GPT2LMHeadModel");
  const std::string source = HEADLAB_SOURCE_DIR;
  std::filesystem::copy_file(source + "/tests/data/tokenizers/gpt2_style.tokenizer.json", folder.toStdString() + "/tokenizer.json");
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  ASSERT_TRUE(openAndWait(w, folder));
  const auto snap = w.attentionView()->snapshot();
  EXPECT_EQ(snap->n_layers, 3);
  EXPECT_EQ(snap->n_heads, 4);
  EXPECT_EQ(w.experimentPanel()->layersBox()->value(), 3);
  EXPECT_EQ(w.experimentPanel()->dModelBox()->value(), 32);

  // Train from this model on a text file: the corpus is read with the model's tokenizer.json.
  auto experiment = headlab::testing::tinyExperiment(3);
  experiment["data"] = {{"task", "text"}, {"path", source + "/docs/model.md"}};
  w.experimentPanel()->setConfig(experiment);
  QString error;
  ASSERT_TRUE(w.trainFromInspectedModel(&error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return windowStatus(w).state == RunState::Finished; }, 60000))
      << (w.findChild<QMessageBox*>("launchFailure") ? w.findChild<QMessageBox*>("launchFailure")->text().toStdString()
                                                     : std::string());
  const auto config = headlab::read_json_file((w.runDirectory() + "/config.json").toStdString());
  EXPECT_EQ(config["data"]["tokenizer"], std::filesystem::absolute(folder.toStdString()).lexically_normal().string());
  EXPECT_TRUE(QFileInfo::exists(w.runDirectory() + "/model/tokenizer.json"));
}
