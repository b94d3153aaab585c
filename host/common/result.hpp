// Result<T>: the value of a fallible call, or an Error that says what went
// wrong and how to fix it. dvmm uses no exceptions on vCPU or polling paths;
// every fallible function returns a Result and callers propagate it with
// DVMM_TRY. Messages are written for the operator who reads them at the CLI.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace dvmm {

struct Error {
  std::string message;

  // An error from a system call: names the call and the errno text.
  static Error from_errno(std::string_view what, int err = errno) {
    return Error{fmt::format("{}: {} (errno {})", what, std::strerror(err), err)};
  }
  template <typename... Args>
  static Error format(fmt::format_string<Args...> f, Args&&... args) {
    return Error{fmt::format(f, std::forward<Args>(args)...)};
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }

  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  void value() const {}
  const Error& error() const { return *error_; }
  Error&& take_error() { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace dvmm

// Propagates an Error from a Result-returning expression, or yields its
// value (GNU statement expression, supported by GCC and Clang).
#define DVMM_TRY(expr)                                   \
  ({                                                     \
    auto dvmm_try_result_ = (expr);                      \
    if (!dvmm_try_result_.ok()) return dvmm_try_result_.take_error(); \
    std::move(dvmm_try_result_).value();                 \
  })
