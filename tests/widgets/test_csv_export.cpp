#include <gtest/gtest.h>

#include <QFile>
#include <QTemporaryDir>

#include "csv_export.h"

using headlab::MetricPoint;

TEST(CsvExport, HeaderAndOneRowPerPoint) {
  std::vector<MetricPoint> pts;
  for (int i = 0; i < 7; ++i) {
    MetricPoint p;
    p.step = i * 10;
    p.tokens = int64_t(i) * 4096;
    p.elapsed_s = i * 0.5;
    p.loss = 3.0 - 0.125 * i;  // exact in binary, so the text is predictable
    p.lr = 3e-4;
    if (i == 3) p.val_loss = 2.75;
    pts.push_back(p);
  }
  QTemporaryDir dir;
  QString err;
  ASSERT_TRUE(headlab::exportMetricsCsv(pts, dir.filePath("m.csv"), &err)) << err.toStdString();
  QFile f(dir.filePath("m.csv"));
  ASSERT_TRUE(f.open(QIODevice::ReadOnly | QIODevice::Text));
  const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
  ASSERT_EQ(lines.size(), 8);
  EXPECT_EQ(lines[0], "step,tokens,elapsed_s,loss,lr,val_loss");
  EXPECT_EQ(lines[1], "0,0,0,3,0.0003,");  // no validation: empty last field
  EXPECT_EQ(lines[4], "30,12288,1.5,2.625,0.0003,2.75");
  for (const QString& line : lines) EXPECT_EQ(line.count(','), 5);
  // Shortest round-trip text: reading back gives the same double.
  EXPECT_EQ(lines[5].split(',')[3].toDouble(), pts[4].loss);
  std::vector<MetricPoint> odd(1);
  odd[0].loss = 0.1 + 0.2;  // 0.30000000000000004
  const QString row = headlab::metricsToCsv(odd).split('\n')[1];
  EXPECT_EQ(row.split(',')[3].toDouble(), 0.1 + 0.2);
}

TEST(CsvExport, UnwritablePathFails) {
  QString err;
  EXPECT_FALSE(headlab::exportMetricsCsv({}, "/nonexistent-dir/m.csv", &err));
  EXPECT_FALSE(err.isEmpty());
  EXPECT_EQ(headlab::metricsToCsv({}), "step,tokens,elapsed_s,loss,lr,val_loss\n");
}
