#pragma once
// The status of a main window's live session as the GUI last received it (empty before any),
// shared by the app-level tests.
#include "main_window.h"
#include "session_feed.h"

namespace headlab::testing {

inline session::SessionStatus windowStatus(const gui::MainWindow& w) {
  const auto snap = w.feed()->snapshot();
  return snap ? snap->status : session::SessionStatus{};
}

}  // namespace headlab::testing
