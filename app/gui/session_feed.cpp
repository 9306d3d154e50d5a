#include "session_feed.h"

namespace headlab::gui {

SessionFeed::SessionFeed(QObject* parent) : QObject(parent) {
  timer_.setInterval(33);  // ~30 Hz: smooth enough for curves, cheap for the GUI thread
  connect(&timer_, &QTimer::timeout, this, &SessionFeed::poll);
}

SessionFeed::~SessionFeed() {
  retire(std::move(session_));
  retiring_.waitForDone();
}

void SessionFeed::retire(std::unique_ptr<session::Session> old) {
  if (!old) return;
  old->request_quit();  // the worker stops after its current step
  auto shared = std::shared_ptr<session::Session>(std::move(old));
  retiring_.start([shared]() mutable { shared.reset(); });  // the join happens there
}

void SessionFeed::setSession(std::unique_ptr<session::Session> session) {
  timer_.stop();
  retire(std::move(session_));
  session_ = std::move(session);
  snapshot_.reset();
  probe_.reset();
  metric_count_ = 0;
  events_.clear();
  emit sessionReset();
  if (session_) {
    poll();
    timer_.start();
  }
}

void SessionFeed::closeSession() { setSession(nullptr); }

void SessionFeed::closeSessionNow() {
  auto old = std::move(session_);
  setSession(nullptr);
  old.reset();  // joins here
}

void SessionFeed::post(const session::Command& command) {
  if (session_) session_->post(command);
}

void SessionFeed::poll() {
  if (!session_) return;
  // Series first, then the status: a status that says "step N" never shows before step N's point.
  auto points = session_->metrics_since(metric_count_);
  auto events = session_->events_since(events_.size());
  auto snapshot = session_->latest();
  if (!points.empty()) {
    metric_count_ += points.size();
    emit metricsAppended(points);
  }
  if (!events.empty()) {
    events_.insert(events_.end(), events.begin(), events.end());
    emit eventsAppended(events);
  }
  if (snapshot && snapshot != snapshot_) {
    snapshot_ = snapshot;
    emit statusChanged(snapshot->status);
    if (snapshot->probe && snapshot->probe != probe_) {
      probe_ = snapshot->probe;
      emit probeChanged(probe_);
    }
  }
}

}  // namespace headlab::gui
