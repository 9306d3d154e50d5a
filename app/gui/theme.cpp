#include "theme.h"

#include <QApplication>
#include <QPalette>
#include <QSettings>
#include <QStyle>
#include <QStyleFactory>
#include <optional>

namespace headlab::gui {
namespace {

struct SystemLook {
  QString style;
  QPalette palette;
};

std::optional<SystemLook>& systemLook() {
  static std::optional<SystemLook> look;
  return look;
}

ThemeMode& current() {
  static ThemeMode mode = ThemeMode::System;
  return mode;
}

}  // namespace

QString themeModeName(ThemeMode mode) {
  switch (mode) {
    case ThemeMode::Light: return "light";
    case ThemeMode::Dark: return "dark";
    case ThemeMode::System: break;
  }
  return "system";
}

ThemeMode themeModeFromName(const QString& name) {
  if (name == "light") return ThemeMode::Light;
  if (name == "dark") return ThemeMode::Dark;
  return ThemeMode::System;
}

QPalette darkPalette() {
  QPalette p;
  const QColor window(45, 48, 52), base(32, 34, 37), text(225, 225, 225), disabled(120, 120, 120);
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, window);
  p.setColor(QPalette::ToolTipBase, QColor(60, 63, 67));
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::PlaceholderText, disabled);
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, window);
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, QColor(255, 90, 90));
  p.setColor(QPalette::Light, QColor(70, 73, 77));
  p.setColor(QPalette::Midlight, QColor(58, 61, 65));
  p.setColor(QPalette::Mid, QColor(38, 40, 43));
  p.setColor(QPalette::Dark, QColor(25, 26, 28));
  p.setColor(QPalette::Shadow, Qt::black);
  p.setColor(QPalette::Highlight, QColor(42, 130, 218));
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::Link, QColor(100, 170, 240));
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
    p.setColor(QPalette::Disabled, role, disabled);
  return p;
}

void applyTheme(ThemeMode mode, bool remember) {
  if (!systemLook()) systemLook() = SystemLook{QApplication::style()->name(), QApplication::palette()};
  switch (mode) {
    case ThemeMode::System:
      QApplication::setStyle(QStyleFactory::create(systemLook()->style));
      QApplication::setPalette(systemLook()->palette);
      break;
    case ThemeMode::Light:
      QApplication::setStyle(QStyleFactory::create("Fusion"));
      QApplication::setPalette(QApplication::style()->standardPalette());
      break;
    case ThemeMode::Dark:
      QApplication::setStyle(QStyleFactory::create("Fusion"));
      QApplication::setPalette(darkPalette());
      break;
  }
  current() = mode;
  if (remember) QSettings().setValue("view/theme", themeModeName(mode));
}

ThemeMode savedThemeMode() { return themeModeFromName(QSettings().value("view/theme").toString()); }

ThemeMode currentThemeMode() { return current(); }

}  // namespace headlab::gui
