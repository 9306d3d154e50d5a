#include "session_launcher.h"

#include <QPointer>
#include <exception>

namespace headlab::gui {

SessionLauncher::SessionLauncher(QObject* parent) : QObject(parent) { pool_.setMaxThreadCount(1); }

SessionLauncher::~SessionLauncher() { pool_.waitForDone(); }

bool SessionLauncher::launch(const QString& what, Factory factory, Done done) {
  if (busy_) return false;
  busy_ = true;
  what_ = what;
  emit busyChanged(true, what_);
  QPointer<SessionLauncher> self(this);
  pool_.start([self, factory = std::move(factory), done = std::move(done)] {
    // shared_ptr: the answer travels in a copyable functor to the GUI thread.
    auto session = std::make_shared<std::unique_ptr<session::Session>>();
    QString error;
    try {
      *session = factory();
    } catch (const std::exception& e) {
      error = QString::fromStdString(e.what());
    }
    QMetaObject::invokeMethod(
        self.data(),
        [self, session, error, done] {
          if (!self) return;
          self->busy_ = false;
          emit self->busyChanged(false, self->what_);
          done(std::move(*session), error);
        },
        Qt::QueuedConnection);
  });
  return true;
}

}  // namespace headlab::gui
