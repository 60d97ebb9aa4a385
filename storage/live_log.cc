#include "storage/live_log.h"

#include <algorithm>
#include <utility>

namespace cairn::storage {

LiveTap::Taken LiveTap::Take() {
  std::lock_guard lock(mu_);
  Taken taken;
  taken.commits.swap(queue_);
  taken.overflowed = overflowed_;
  queued_events_ = 0;
  return taken;
}

void LiveTap::OnReady(std::function<void()> wake) {
  std::unique_lock lock(mu_);
  if (!queue_.empty() || overflowed_) {
    wake_ = nullptr;
    lock.unlock();
    wake();
    return;
  }
  wake_ = std::move(wake);
}

void LiveTap::Push(const CommittedEventsPtr& commit, size_t events) {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (overflowed_) return;
    if (queued_events_ + events > max_events_) {
      // Hold nothing rather than a part: the subscriber reads storage.
      overflowed_ = true;
      queue_.clear();
      queued_events_ = 0;
    } else {
      queue_.push_back(commit);
      queued_events_ += events;
    }
    wake.swap(wake_);
  }
  if (wake) wake();
}

LiveLog::Opened LiveLog::Open(std::string_view tenant,
                              std::optional<std::string> stream,
                              size_t max_events) {
  auto tap = std::make_shared<LiveTap>(stream, max_events);
  std::lock_guard lock(mu_);
  // Under the lock: a commit whose end this misses is published after the
  // tap is in place, and one published before is within the end.
  const GlobalPosition from = log_end_(tenant);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) it = tenants_.emplace(tenant, Tenant{}).first;
  if (stream) {
    it->second.stream_taps[*stream].push_back(tap);
  } else {
    it->second.log_taps.push_back(tap);
  }
  ++open_taps_;
  return {std::move(tap), from};
}

void LiveLog::Close(std::string_view tenant,
                    const std::shared_ptr<LiveTap>& tap) {
  std::lock_guard lock(mu_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return;
  Tenant& t = it->second;
  const auto erase_from = [this, &tap](Taps& taps) {
    const auto found = std::find(taps.begin(), taps.end(), tap);
    if (found == taps.end()) return;
    taps.erase(found);
    --open_taps_;
  };
  if (tap->stream()) {
    auto s = t.stream_taps.find(*tap->stream());
    if (s == t.stream_taps.end()) return;
    erase_from(s->second);
    if (s->second.empty()) t.stream_taps.erase(s);
  } else {
    erase_from(t.log_taps);
  }
  if (t.log_taps.empty() && t.stream_taps.empty()) tenants_.erase(it);
}

void LiveLog::Publish(std::string_view tenant,
                      const std::function<CommittedEventsPtr()>& build) {
  std::lock_guard lock(mu_);
  for (const auto& [id, listener] : listeners_) listener(tenant);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return;  // nobody listens: nothing is built
  Tenant& t = it->second;
  const CommittedEventsPtr commit = build();
  for (const auto& tap : t.log_taps) tap->Push(commit, commit->events.size());
  if (t.stream_taps.empty()) return;
  // Each stream tap once per commit, counting only its stream's events.
  std::map<std::string_view, size_t> per_stream;
  for (const auto& e : commit->events) ++per_stream[e.stream];
  for (const auto& [stream, count] : per_stream) {
    auto s = t.stream_taps.find(stream);
    if (s == t.stream_taps.end()) continue;
    for (const auto& tap : s->second) tap->Push(commit, count);
  }
}

uint64_t LiveLog::AddCommitListener(
    std::function<void(std::string_view tenant)> listener) {
  std::lock_guard lock(mu_);
  const uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void LiveLog::RemoveCommitListener(uint64_t id) {
  std::lock_guard lock(mu_);
  listeners_.erase(id);
}

size_t LiveLog::open_taps() const {
  std::lock_guard lock(mu_);
  return open_taps_;
}

}  // namespace cairn::storage
