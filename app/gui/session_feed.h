#pragma once
// The GUI side of a live session: owns the Session, pulls its newest snapshot and the new
// metric points and events on a ~30 Hz timer, and hands them to the widgets as signals.
// It never waits on the worker (Session::latest and *_since only take a short lock), and a
// tick with nothing new emits nothing, so widgets redraw only when something changed.
#include <QObject>
#include <QThreadPool>
#include <QTimer>
#include <memory>
#include <vector>

#include "session/session.h"

namespace headlab::gui {

class SessionFeed : public QObject {
  Q_OBJECT

 public:
  explicit SessionFeed(QObject* parent = nullptr);
  ~SessionFeed() override;

  // Replaces the session and starts polling. The old one is told to stop and is joined on a
  // thread of its own, so the window never waits for the step it is in the middle of.
  void setSession(std::unique_ptr<session::Session> session);
  void closeSession();
  // Closes and joins the session here, for an idle session whose resources (its run
  // directory's lock) must be free when this returns.
  void closeSessionNow();
  session::Session* session() const { return session_.get(); }
  bool hasSession() const { return session_ != nullptr; }
  void post(const session::Command& command);

  // One pull; the timer calls it every interval_ms.
  void poll();
  int intervalMs() const { return timer_.interval(); }

  std::shared_ptr<const session::Snapshot> snapshot() const { return snapshot_; }
  // Everything received so far from this session.
  const std::vector<EventRecord>& events() const { return events_; }
  size_t metricCount() const { return metric_count_; }

 signals:
  void sessionReset();  // a new session (or none): widgets forget the old run
  void statusChanged(const headlab::session::SessionStatus& status);
  void probeChanged(std::shared_ptr<const headlab::ProbeSnapshot> probe);
  void metricsAppended(const std::vector<headlab::MetricPoint>& points);
  void eventsAppended(const std::vector<headlab::EventRecord>& events);

 private:
  void retire(std::unique_ptr<session::Session> old);
  std::unique_ptr<session::Session> session_;
  QThreadPool retiring_;  // joins replaced sessions; the destructor waits for it
  QTimer timer_;
  std::shared_ptr<const session::Snapshot> snapshot_;
  std::shared_ptr<const ProbeSnapshot> probe_;
  size_t metric_count_ = 0;
  std::vector<EventRecord> events_;
};

}  // namespace headlab::gui
