#pragma once

// Adapters from the store's callbacks and blocking reads to C++20
// coroutines: the result comes back on the awaiting coroutine's executor
// (the connection's loop), never on the sequencer or a reader thread.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <type_traits>
#include <utility>

#include "storage/event_store.h"

namespace cairn::server {

namespace detail {

// Completes an awaiting handler from another thread, on its own executor.
template <typename Handler, typename Value>
void CompleteOnOwnExecutor(Handler&& handler, Value&& value) {
  auto ex = boost::asio::get_associated_executor(handler);
  boost::asio::post(
      ex, [h = std::move(handler), v = std::forward<Value>(value)]() mutable {
        std::move(h)(std::move(v));
      });
}

}  // namespace detail

// co_await AsyncWrite(store, &EventStore::Append, request): the outcome
// once the sequencer has committed or refused it.
template <typename Request>
auto AsyncWrite(storage::EventStore& store,
                void (storage::EventStore::*submit)(Request,
                                                    storage::WriteCallback),
                Request request) {
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                     void(storage::WriteOutcome)>(
      [&store, submit](auto handler, Request req) {
        // WriteCallback is copyable; the awaiting handler is not.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        (store.*submit)(std::move(req), [shared](storage::WriteOutcome out) {
          detail::CompleteOnOwnExecutor(std::move(*shared), std::move(out));
        });
      },
      boost::asio::use_awaitable, std::move(request));
}

// co_await RunOn(pool, fn): runs fn() on the pool (blocking storage reads)
// and resumes the awaiting coroutine on its own executor with the result.
template <typename Executor, typename Fn>
auto RunOn(const Executor& pool, Fn fn) {
  using R = std::invoke_result_t<Fn&>;
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                     void(R)>(
      [pool](auto handler, Fn f) {
        boost::asio::post(pool,
                          [h = std::move(handler), f = std::move(f)]() mutable {
                            detail::CompleteOnOwnExecutor(std::move(h), f());
                          });
      },
      boost::asio::use_awaitable, std::move(fn));
}

}  // namespace cairn::server
