#include <gtest/gtest.h>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <fstream>

#include "experiment_check.h"
#include "experiment_panel.h"
#include "train/experiment_config.h"

using headlab::ExperimentPanel;
using nlohmann::json;

TEST(ExperimentPanel, ListsPresetsAndReproducesThePresetJson) {
  ExperimentPanel panel;
  EXPECT_TRUE(panel.presetNames().contains("induction-kha"));
  EXPECT_TRUE(panel.presetNames().contains("recall-mea"));
  ASSERT_TRUE(panel.selectPreset("induction-kha"));
  EXPECT_EQ(panel.presetName(), "induction-kha");
  EXPECT_TRUE(panel.isValid()) << panel.problem().toStdString();
  EXPECT_EQ(panel.headsBox()->value(), 4);
  EXPECT_EQ(panel.layersBox()->value(), 2);
  EXPECT_EQ(panel.khaBox('v')->currentText(), "linear");
  EXPECT_EQ(panel.stepsBox()->value(), 3000);

  const json preset = headlab::train::load_preset("induction-kha");
  json expected = preset;
  expected["train"]["device"] = "cpu";  // no CUDA in this test
  expected["model"]["n_kv_heads"] = 4;
  json got = panel.config();
  EXPECT_EQ(got["train"], expected["train"]);
  EXPECT_EQ(got["model"], expected["model"]);
  EXPECT_EQ(got["data"], preset["data"]);
  EXPECT_EQ(got["probe"], preset["probe"]);  // fields the form does not show are kept
  EXPECT_EQ(headlab::experimentConfigProblem(got), "");
  EXPECT_FALSE(panel.selectPreset("no-such-preset"));
  EXPECT_EQ(panel.presetName(), "induction-kha");
}

TEST(ExperimentPanel, FlagsHeadsNotAMultipleOfKvHeadsWithTheEngineMessage) {
  ExperimentPanel panel;
  ASSERT_TRUE(panel.selectPreset("recall-mea"));
  ASSERT_TRUE(panel.isValid());
  QSignalSpy validity(&panel, &ExperimentPanel::validityChanged);
  panel.layoutBox()->setCurrentText("gqa");
  panel.headsBox()->setValue(6);
  panel.kvHeadsBox()->setValue(4);
  EXPECT_FALSE(panel.isValid());
  EXPECT_EQ(panel.problem().toStdString(), "model config: n_heads (6) is not a multiple of n_kv_heads (4)");
  EXPECT_TRUE(panel.problemLabel()->text().contains("n_heads (6) is not a multiple of n_kv_heads (4)"));
  EXPECT_TRUE(panel.kvHeadsBox()->property("faulty").toBool());
  EXPECT_FALSE(panel.headsBox()->property("faulty").toBool());
  ASSERT_EQ(validity.count(), 1);
  EXPECT_FALSE(validity.at(0).at(0).toBool());

  panel.kvHeadsBox()->setValue(3);
  EXPECT_TRUE(panel.isValid()) << panel.problem().toStdString();
  EXPECT_FALSE(panel.kvHeadsBox()->property("faulty").toBool());
  ASSERT_EQ(validity.count(), 2);
  EXPECT_TRUE(validity.at(1).at(0).toBool());
  const json j = panel.config();
  EXPECT_EQ(j["model"]["n_heads"], 6);
  EXPECT_EQ(j["model"]["n_kv_heads"], 3);
  EXPECT_EQ(j["model"]["attention"], "gqa");
}

TEST(ExperimentPanel, OtherEngineRulesAreFlaggedToo) {
  ExperimentPanel panel;
  ASSERT_TRUE(panel.selectPreset("induction-kha"));
  panel.seqLenBox()->setValue(100);  // max_seq_len is 64
  EXPECT_EQ(panel.problem().toStdString(), "train.seq_len (100) exceeds model.max_seq_len (64)");
  EXPECT_TRUE(panel.seqLenBox()->property("faulty").toBool());
  panel.seqLenBox()->setValue(48);
  EXPECT_TRUE(panel.isValid());

  panel.lrEdit()->setText("fast");
  EXPECT_FALSE(panel.isValid());
  EXPECT_TRUE(panel.problem().contains("train.lr")) << panel.problem().toStdString();
  panel.lrEdit()->setText("-1e-3");
  EXPECT_TRUE(panel.problem().contains("train.lr")) << panel.problem().toStdString();
  panel.lrEdit()->setText("1e-3");
  EXPECT_TRUE(panel.isValid());
  EXPECT_DOUBLE_EQ(panel.config()["train"]["lr"].get<double>(), 1e-3);

  panel.headDimBox()->setValue(15);  // rotary embeddings need an even head_dim
  EXPECT_TRUE(panel.problem().contains("head_dim (15)")) << panel.problem().toStdString();
  EXPECT_TRUE(panel.headDimBox()->property("faulty").toBool());
}

TEST(ExperimentPanel, ModulesAndLayoutsMapToTheModelJson) {
  ExperimentPanel panel;
  ASSERT_TRUE(panel.selectPreset("induction-kha"));
  panel.khaBox('q')->setCurrentText("none");
  panel.khaBox('k')->setCurrentText("none");
  panel.khaBox('v')->setCurrentText("mlp");
  panel.meaBox()->setChecked(true);
  panel.meaGroupNormBox()->setChecked(false);
  panel.talkingHeadsBox()->setChecked(true);
  json inter = panel.config()["model"]["interaction"];
  EXPECT_EQ(inter["kha"], json({{"q", "none"}, {"k", "none"}, {"v", "mlp"}}));
  EXPECT_EQ(inter["mea"], json({{"enabled", true}, {"group_norm", false}}));
  EXPECT_EQ(inter["talking_heads"], json({{"enabled", true}}));
  EXPECT_TRUE(panel.isValid()) << panel.problem().toStdString();

  panel.khaBox('v')->setCurrentText("none");
  panel.meaBox()->setChecked(false);
  panel.talkingHeadsBox()->setChecked(false);
  EXPECT_FALSE(panel.config()["model"].contains("interaction"));
  EXPECT_FALSE(panel.meaGroupNormBox()->isEnabled());

  panel.layoutBox()->setCurrentText("mqa");
  EXPECT_FALSE(panel.kvHeadsBox()->isEnabled());
  EXPECT_EQ(panel.config()["model"]["n_kv_heads"], 1);
  panel.layoutBox()->setCurrentText("mha");
  EXPECT_EQ(panel.kvHeadsBox()->value(), panel.headsBox()->value());
  panel.layoutBox()->setCurrentText("gqa");
  EXPECT_TRUE(panel.kvHeadsBox()->isEnabled());
}

TEST(ExperimentPanel, CorpusCheckAnswersOnlyForTheLatestEdit) {
  ExperimentPanel panel;
  ASSERT_TRUE(panel.selectPreset("induction-kha"));
  QTemporaryDir dir;
  const QString good = dir.filePath("good.txt"), bad = dir.filePath("bad.txt");
  {
    std::ofstream out(good.toStdString());
    for (int i = 0; i < 200; ++i) out << "the cat sat on the mat. ";
    std::ofstream(bad.toStdString()) << "\xff\xfe not UTF-8";
  }
  panel.taskBox()->setCurrentIndex(panel.taskBox()->findText("text file"));
  QSignalSpy validity(&panel, &ExperimentPanel::validityChanged);
  panel.textPathEdit()->setText(bad);
  panel.textPathEdit()->setText(good);  // within the debounce: only this one is read
  ASSERT_TRUE(QTest::qWaitFor([&] { return !panel.isCheckingData(); }, 10000));
  EXPECT_TRUE(panel.isValid()) << panel.problem().toStdString();
  EXPECT_EQ(validity.count(), 1);  // one flip, to valid, when the corpus check answered
  panel.textPathEdit()->setText(bad);
  ASSERT_TRUE(QTest::qWaitFor([&] { return !panel.isCheckingData(); }, 10000));
  EXPECT_FALSE(panel.isValid());
  EXPECT_TRUE(panel.problem().contains("bad.txt")) << panel.problem().toStdString();
}

TEST(ExperimentPanel, TextFileDataAndDevice) {
  ExperimentPanel panel;
  ASSERT_TRUE(panel.selectPreset("induction-kha"));
  EXPECT_FALSE(panel.textPathEdit()->isEnabled());
  panel.taskBox()->setCurrentIndex(panel.taskBox()->findText("text file"));
  EXPECT_TRUE(panel.textPathEdit()->isEnabled());
  EXPECT_FALSE(panel.isValid());
  EXPECT_TRUE(panel.problem().contains("data.path")) << panel.problem().toStdString();

  QTemporaryDir dir;
  const QString path = dir.filePath("corpus.txt");
  {
    std::ofstream out(path.toStdString());
    for (int i = 0; i < 200; ++i) out << "the cat sat on the mat. ";
  }
  panel.textPathEdit()->setText(path);
  // The corpus is read after a pause in the typing, off the GUI thread: not valid until then.
  EXPECT_TRUE(panel.isCheckingData());
  EXPECT_FALSE(panel.isValid());
  ASSERT_TRUE(QTest::qWaitFor([&] { return !panel.isCheckingData(); }, 10000));
  EXPECT_TRUE(panel.isValid()) << panel.problem().toStdString();
  EXPECT_EQ(panel.config()["data"], json({{"task", "text"}, {"path", path.toStdString()}}));
  panel.taskBox()->setCurrentIndex(panel.taskBox()->findText("sort"));
  EXPECT_EQ(panel.config()["data"], json({{"task", "sort"}}));

  EXPECT_TRUE(panel.deviceBox()->isHidden());
  EXPECT_EQ(panel.config()["train"]["device"], "cpu");
  panel.setCudaAvailable(true);
  EXPECT_FALSE(panel.deviceBox()->isHidden());
  EXPECT_EQ(panel.config()["train"]["device"], "cuda");
  panel.deviceBox()->setCurrentText("cpu");
  EXPECT_EQ(panel.config()["train"]["device"], "cpu");
}

TEST(ExperimentPanel, SetConfigLoadsAnyExperiment) {
  ExperimentPanel panel;
  json j = headlab::train::load_preset("grammar-kha-vs-mha");
  j["train"]["steps"] = 77;
  j["train"]["warmup_steps"] = 7;
  panel.setConfig(j);
  EXPECT_EQ(panel.presetName(), "");  // custom
  EXPECT_EQ(panel.stepsBox()->value(), 77);
  EXPECT_EQ(panel.taskBox()->currentText(), "grammar");
  EXPECT_EQ(panel.config()["train"]["warmup_steps"], 7);
  EXPECT_TRUE(panel.isValid()) << panel.problem().toStdString();
}

// A resumed run's config names its vocabulary (induction: 24 symbols). Switching the form to
// an English corpus used to fail with "model.vocab_size (24)", a field the form did not
// show; now the vocabulary row follows the data.
TEST(ExperimentPanel, ALoadedVocabularyGivesWayToANewCorpus) {
  ExperimentPanel panel;
  json resumed = headlab::train::load_preset("induction-kha");
  resumed["model"]["vocab_size"] = 24;
  panel.setConfig(resumed);
  ASSERT_TRUE(panel.isValid()) << panel.problem().toStdString();
  EXPECT_FALSE(panel.vocabularyFromData());
  EXPECT_TRUE(panel.vocabularyBox()->currentText().contains("24 tokens")) << panel.vocabularyBox()->currentText().toStdString();
  EXPECT_EQ(panel.config()["model"]["vocab_size"], 24);

  QTemporaryDir dir;
  const QString path = dir.filePath("english.txt");
  {
    std::ofstream out(path.toStdString());
    for (int i = 0; i < 300; ++i) out << "It was the best of times, it was the worst of times. Chapter " << i << ".\n";
  }
  panel.taskBox()->setCurrentIndex(panel.taskBox()->findText("text file"));
  panel.textPathEdit()->setText(path);
  ASSERT_TRUE(QTest::qWaitFor([&] { return !panel.isCheckingData(); }, 10000));
  EXPECT_TRUE(panel.isValid()) << panel.problem().toStdString();
  EXPECT_TRUE(panel.vocabularyFromData());
  EXPECT_FALSE(panel.config()["model"].contains("vocab_size"));
  EXPECT_FALSE(panel.config()["model"].contains("tokenizer"));
}

// "train.seq_len (100) exceeds model.max_seq_len (64)": the form offers max_seq_len and
// marks both lengths; raising it makes the experiment valid.
TEST(ExperimentPanel, MaxSeqLenIsAFieldOfTheForm) {
  ExperimentPanel panel;
  ASSERT_TRUE(panel.selectPreset("induction-kha"));
  EXPECT_EQ(panel.maxSeqLenBox()->value(), 64);
  panel.seqLenBox()->setValue(100);
  EXPECT_FALSE(panel.isValid());
  EXPECT_TRUE(panel.maxSeqLenBox()->property("faulty").toBool());
  EXPECT_TRUE(panel.seqLenBox()->property("faulty").toBool());
  panel.maxSeqLenBox()->setValue(128);
  EXPECT_TRUE(panel.isValid()) << panel.problem().toStdString();
  EXPECT_FALSE(panel.maxSeqLenBox()->property("faulty").toBool());
  EXPECT_EQ(panel.config()["model"]["max_seq_len"], 128);
  EXPECT_EQ(panel.config()["train"]["seq_len"], 100);
}

// An opened model's config replaces the form's model section; data and training stay.
TEST(ExperimentPanel, ModelSettingsComeFromAnOpenedModel) {
  ExperimentPanel panel;
  ASSERT_TRUE(panel.selectPreset("recall-mea"));
  const int steps = panel.stepsBox()->value();
  json model = headlab::train::load_preset("induction-kha")["model"];
  model["format"] = "headlab-model/1";
  model["vocab_size"] = 24;
  model["n_layers"] = 3;
  panel.setModelSettings(model);
  EXPECT_EQ(panel.presetName(), "");
  EXPECT_EQ(panel.layersBox()->value(), 3);
  EXPECT_EQ(panel.headsBox()->value(), 4);
  EXPECT_EQ(panel.maxSeqLenBox()->value(), 64);
  EXPECT_EQ(panel.stepsBox()->value(), steps);
  EXPECT_FALSE(panel.config()["model"].contains("format"));
}

// The faulty-field mark is the field's own palette entry, gone once the field is fine: with a
// style sheet the learning-rate field, once marked, stayed white in the dark theme. (The theme
// switch itself is tested on the main window: Theme.DarkThemeRecoloursThePlotsAndExportsStayLight.)
TEST(ExperimentPanel, AFieldOnceMarkedHasNoPaletteOrStyleSheetOfItsOwnWhenFixed) {
  ExperimentPanel panel;
  ASSERT_TRUE(panel.selectPreset("induction-kha"));
  panel.lrEdit()->setText("fast");
  EXPECT_TRUE(panel.lrEdit()->property("faulty").toBool());
  EXPECT_EQ(panel.lrEdit()->palette().color(QPalette::Base), ExperimentPanel::faultyFieldColor(QApplication::palette()));
  EXPECT_TRUE(panel.lrEdit()->styleSheet().isEmpty());
  panel.lrEdit()->setText("3e-3");
  ASSERT_TRUE(panel.isValid());
  EXPECT_FALSE(panel.lrEdit()->property("faulty").toBool());
  EXPECT_TRUE(panel.lrEdit()->styleSheet().isEmpty());
  EXPECT_EQ(panel.lrEdit()->palette().resolveMask(), panel.headsBox()->palette().resolveMask());
  EXPECT_EQ(panel.lrEdit()->palette().color(QPalette::Base), panel.headsBox()->palette().color(QPalette::Base));
  // A dark palette gives a dark mark, so the field's light text stays readable.
  QPalette dark;
  dark.setColor(QPalette::Base, QColor(32, 34, 37));
  EXPECT_LT(ExperimentPanel::faultyFieldColor(dark).lightness(), 100);
}

// Every model field explains itself, on the field and on its label.
TEST(ExperimentPanel, ModelFieldsAndTheirLabelsHaveToolTips) {
  ExperimentPanel panel;
  for (QWidget* field : std::initializer_list<QWidget*>{panel.layoutBox(), panel.layersBox(), panel.dModelBox(),
                                                        panel.headsBox(), panel.kvHeadsBox(), panel.headDimBox(),
                                                        panel.maxSeqLenBox(), panel.vocabularyBox(), panel.meaBox()})
    EXPECT_FALSE(field->toolTip().isEmpty()) << field->metaObject()->className();
  int labels = 0;
  for (QLabel* label : panel.findChildren<QLabel*>()) {
    if (label->text() != "d_model" && label->text() != "Layers" && label->text() != "Max seq len" &&
        label->text() != "KHA")
      continue;
    ++labels;
    EXPECT_FALSE(label->toolTip().isEmpty()) << label->text().toStdString();
  }
  EXPECT_EQ(labels, 4);
}

// While a run trains, the form does not say "Ready to start.".
TEST(ExperimentPanel, SaysTheSettingsAreForTheNextRunWhileARunTrains) {
  ExperimentPanel panel;
  ASSERT_TRUE(panel.selectPreset("induction-kha"));
  EXPECT_EQ(panel.problemLabel()->text(), "Ready to start.");
  panel.setRunActive(true);
  EXPECT_NE(panel.problemLabel()->text(), "Ready to start.");
  EXPECT_TRUE(panel.problemLabel()->text().contains("next run"));
  panel.setRunActive(false);
  EXPECT_EQ(panel.problemLabel()->text(), "Ready to start.");
}

// A run directory is named after the preset only while the form is that preset.
TEST(ExperimentPanel, RunNameSaysWhenThePresetWasChanged) {
  ExperimentPanel panel;
  ASSERT_TRUE(panel.selectPreset("induction-kha"));
  EXPECT_EQ(panel.runName(), "induction-kha");
  panel.setCudaAvailable(true);  // the machine, not an edit
  EXPECT_EQ(panel.runName(), "induction-kha");
  panel.headsBox()->setValue(8);
  EXPECT_EQ(panel.runName(), "induction-kha-modified");
  panel.headsBox()->setValue(4);
  EXPECT_EQ(panel.runName(), "induction-kha");
  panel.setConfig(headlab::train::load_preset("recall-mea"));
  EXPECT_EQ(panel.runName(), "custom");
}
