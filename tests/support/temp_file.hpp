// A file a test writes under its temporary directory, removed when the
// object goes out of scope, however the test ends (a failed ASSERT
// returning early included): test runs leave nothing behind.
#pragma once

#include <cstdio>
#include <string>
#include <utility>

namespace dvmm::test {

class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  TempFile(TempFile&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TempFile& operator=(TempFile&&) = delete;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (!path_.empty()) std::remove(path_.c_str());
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace dvmm::test
