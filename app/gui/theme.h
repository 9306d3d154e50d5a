#pragma once
// Light/dark: by default the app follows the system (the platform theme's palette); the View
// menu can force light or dark, which Qt 6.4 on many Linux desktops cannot detect by itself.
// Forced themes use the Fusion style, whose palette roles are honoured everywhere. The plots
// follow whatever palette results (widgets/plot_theme.h).
#include <QString>

class QPalette;

namespace headlab::gui {

enum class ThemeMode { System, Light, Dark };

QString themeModeName(ThemeMode mode);         // "system", "light", "dark"
ThemeMode themeModeFromName(const QString& name);  // unknown names: System

// Fusion's dark palette: the roles the views read (Window, Base, Text, Highlight...).
QPalette darkPalette();

// Applies `mode` to the running application and, when `remember`, keeps it for the next start
// (QSettings "view/theme"). The system palette is captured on the first call, so System
// restores it later.
void applyTheme(ThemeMode mode, bool remember = true);
ThemeMode savedThemeMode();
ThemeMode currentThemeMode();

}  // namespace headlab::gui
