#pragma once

// Waiting, from a coroutine, until a projection has applied a position: the
// runner answers from its thread (posted back to the caller's loop), a
// timer bounds the wait. Used by minPosition reads and read-model
// subscriptions.

#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "projections/runner.h"
#include "server/subscription.h"

namespace cairn::server {

// True once the projection has applied the tenant's `position`, false when
// it cannot (faulted, stopping); none when `timeout` passed first, or
// `control` (if any) was stopped. `urgency`: Runner::WhenApplied.
inline boost::asio::awaitable<std::optional<bool>> WaitApplied(
    projections::Runner& runner, const std::string& projection,
    const std::string& tenant, uint64_t position,
    std::chrono::milliseconds timeout,
    projections::Runner::Urgency urgency =
        projections::Runner::Urgency::kPrompt,
    SubscriptionControl* control = nullptr) {
  namespace net = boost::asio;
  struct Wait {
    explicit Wait(const net::any_io_executor& ex) : timer(ex) {}
    net::steady_timer timer;
    std::optional<bool> answer;
  };
  auto ex = co_await net::this_coro::executor;
  auto wait = std::make_shared<Wait>(ex);
  wait->timer.expires_after(timeout);
  // The answer may come from the runner's thread: it only posts.
  const uint64_t id = runner.WhenApplied(
      projection, tenant, position,
      [wait, ex](bool applied) {
        net::post(ex, [wait, applied] {
          if (wait->answer) return;
          wait->answer = applied;
          wait->timer.cancel();
        });
      },
      urgency);
  if (control != nullptr) {
    control->OnStop([wait] { wait->timer.cancel(); });
  }
  co_await wait->timer.async_wait(
      net::experimental::as_tuple(net::use_awaitable));
  if (control != nullptr) control->OnStop(nullptr);
  if (!wait->answer) runner.Forget(id);  // timed out or stopped
  const std::optional<bool> answer = wait->answer;
  wait->answer = false;  // a late answer is ignored
  co_return answer;
}

}  // namespace cairn::server
