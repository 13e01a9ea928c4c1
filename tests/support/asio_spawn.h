// tests/support/asio_spawn.h
//
// Spawn(io, task): co_spawn a test's coroutine on `io` and rethrow what it
// threw from io.run(), so a failing coroutine fails the test instead of
// vanishing into asio::detached.

#ifndef RINGFLOW_TESTS_SUPPORT_ASIO_SPAWN_H_
#define RINGFLOW_TESTS_SUPPORT_ASIO_SPAWN_H_

#include <exception>
#include <utility>

#include "asio/co_spawn.hpp"
#include "asio/io_context.hpp"

namespace ringflow::testing {

template <typename F>
void Spawn(asio::io_context& io, F task) {
  asio::co_spawn(io, std::move(task), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_ASIO_SPAWN_H_
