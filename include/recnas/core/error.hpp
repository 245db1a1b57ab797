#pragma once
// Errors carry where they come from (file, line, field) so that a user can fix the input.

#include <cstddef>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>

namespace recnas {

/// Base of every exception recnas throws on bad input or misuse.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad user input: a data row, a JSON field, a command-line option.
/// what() reads `file:line: field: reason` with the parts that are known.
class input_error : public error {
 public:
  input_error(std::string file, std::size_t line, std::string field, std::string reason)
      : error(format(file, line, field, reason)),
        file_(std::move(file)),
        line_(line),
        field_(std::move(field)),
        reason_(std::move(reason)) {}

  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] std::size_t line() const noexcept { return line_; }
  [[nodiscard]] const std::string& field() const noexcept { return field_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  static std::string format(const std::string& file, std::size_t line, const std::string& field,
                            const std::string& reason) {
    std::string s;
    if (!file.empty()) {
      s += file;
      if (line != 0) s += ':' + std::to_string(line);
      s += ": ";
    }
    if (!field.empty()) s += field + ": ";
    s += reason;
    return s;
  }
  std::string file_;
  std::size_t line_;
  std::string field_;
  std::string reason_;
};

/// A precondition of a recnas function was violated by the caller (a bug, not bad data).
class contract_error : public error {
 public:
  using error::error;
};

namespace detail {
[[noreturn]] inline void contract_failed(std::string_view what, const std::source_location& where) {
  throw contract_error(std::string(where.file_name()) + ':' + std::to_string(where.line()) +
                       ": precondition failed: " + std::string(what));
}
}  // namespace detail

/// Checks a precondition in every build type; kernels use it outside their hot loops only.
constexpr void expects(bool condition, std::string_view what,
                       std::source_location where = std::source_location::current()) {
  if (!condition) [[unlikely]] {
    detail::contract_failed(what, where);
  }
}

}  // namespace recnas
