#pragma once
// Read-only memory mapping of a whole file (POSIX). Parsers and the cache read through it so
// that the kernel's page cache is the only buffer: no copies, no iostreams.

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recnas/core/error.hpp"

namespace recnas::data {

class mapped_file {
 public:
  mapped_file() = default;
  explicit mapped_file(std::string path) : path_(std::move(path)) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw input_error(path_, 0, "", std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      throw input_error(path_, 0, "", std::string("cannot stat: ") + std::strerror(e));
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ != 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int e = errno;
        ::close(fd);
        throw input_error(path_, 0, "", std::string("cannot map: ") + std::strerror(e));
      }
      data_ = static_cast<const char*>(p);
      ::madvise(p, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  mapped_file(mapped_file&& o) noexcept { swap(o); }
  mapped_file& operator=(mapped_file&& o) noexcept {
    if (this != &o) {
      unmap();
      swap(o);
    }
    return *this;
  }
  ~mapped_file() { unmap(); }

  [[nodiscard]] const char* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::string_view view() const noexcept { return {data_, size_}; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// Hints that [offset, offset+n) will be read at random (cache-backed shuffled streams).
  void advise_random() const noexcept {
    if (data_ != nullptr) ::madvise(const_cast<char*>(data_), size_, MADV_RANDOM);
  }

 private:
  void unmap() noexcept {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
  }
  void swap(mapped_file& o) noexcept {
    std::swap(path_, o.path_);
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
  }
  std::string path_;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace recnas::data
