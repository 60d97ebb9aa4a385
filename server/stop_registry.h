#pragma once

#include <boost/asio/post.hpp>
#include <iterator>
#include <list>
#include <memory>
#include <mutex>

#include "server/subscription.h"

namespace cairn::server {

// What must stop at shutdown: running subscriptions and WebSocket sessions,
// each with a SubscriptionControl on its connection's loop. Thread-safe.
class StopRegistry {
 public:
  using Handle = std::list<std::weak_ptr<SubscriptionControl>>::iterator;

  Handle Add(const std::shared_ptr<SubscriptionControl>& control) {
    std::lock_guard lock(mu_);
    if (stopping_) {
      // Too late to run: stop it at once (on its loop).
      boost::asio::post(control->executor(), [control] { control->Stop(); });
    }
    controls_.push_back(control);
    return std::prev(controls_.end());
  }

  void Remove(Handle handle) {
    std::lock_guard lock(mu_);
    controls_.erase(handle);
  }

  // Stops everything registered now or later, each on its own loop.
  void StopAll() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (const auto& weak : controls_) {
      if (auto c = weak.lock()) {
        boost::asio::post(c->executor(), [c] { c->Stop(); });
      }
    }
  }

 private:
  std::mutex mu_;
  std::list<std::weak_ptr<SubscriptionControl>> controls_;  // guarded by mu_
  bool stopping_ = false;                                   // guarded by mu_
};

// Registers for as long as it lives.
class StopRegistration {
 public:
  StopRegistration(StopRegistry& registry,
                   const std::shared_ptr<SubscriptionControl>& control)
      : registry_(registry), handle_(registry.Add(control)) {}
  ~StopRegistration() { registry_.Remove(handle_); }
  StopRegistration(const StopRegistration&) = delete;
  StopRegistration& operator=(const StopRegistration&) = delete;

 private:
  StopRegistry& registry_;
  StopRegistry::Handle handle_;
};

}  // namespace cairn::server
