#pragma once
// Creates a session away from the GUI thread: building the data, the model and the run
// directory and taking the first probe can take seconds, and the window must keep drawing
// meanwhile. One launch at a time; the answer comes back on the GUI thread.
#include <QObject>
#include <QString>
#include <QThreadPool>
#include <functional>
#include <memory>

#include "session/session.h"

namespace headlab::gui {

class SessionLauncher : public QObject {
  Q_OBJECT

 public:
  using Factory = std::function<std::unique_ptr<session::Session>()>;
  // Called on the GUI thread with the new session, or with none and the engine's message.
  using Done = std::function<void(std::unique_ptr<session::Session> session, const QString& error)>;

  explicit SessionLauncher(QObject* parent = nullptr);
  ~SessionLauncher() override;  // waits for a launch still running (its session is dropped)

  // Starts `factory` on a pool thread; false when a launch is already running.
  bool launch(const QString& what, Factory factory, Done done);
  bool busy() const { return busy_; }
  QString what() const { return what_; }

 signals:
  void busyChanged(bool busy, const QString& what);

 private:
  QThreadPool pool_;
  bool busy_ = false;
  QString what_;
};

}  // namespace headlab::gui
