#pragma once
// Checkpoint files: named binary sections (parameters, optimizer state, data position, RNG
// state, ...) with a versioned header and an XXH64 checksum, written atomically.
//
// Layout (little-endian):
//   "RECNASCK" | u32 format version | u32 section count
//   per section: u32 name length | name bytes | u64 payload length | payload
//   u64 XXH64 of every byte before it
// Writing goes to `<path>.tmp.<pid>`, is fsync'ed, renamed over `path`, and the directory is
// fsync'ed: a crash leaves either the old or the new checkpoint, never a torn one.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "recnas/core/checksum.hpp"
#include "recnas/core/error.hpp"

namespace recnas::train {

inline constexpr std::uint32_t checkpoint_format_version = 1;
inline constexpr char checkpoint_magic[8] = {'R', 'E', 'C', 'N', 'A', 'S', 'C', 'K'};

class checkpoint {
 public:
  /// Stores raw bytes under `name` (replacing an earlier section of that name).
  void put_bytes(const std::string& name, std::span<const std::byte> bytes) {
    sections_[name].assign(bytes.begin(), bytes.end());
  }
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void put(const std::string& name, std::span<const T> values) {
    put_bytes(name, std::as_bytes(values));
  }
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void put_value(const std::string& name, const T& value) {
    put(name, std::span<const T>(&value, 1));
  }
  void put_string(const std::string& name, std::string_view s) {
    put_bytes(name, std::as_bytes(std::span<const char>(s.data(), s.size())));
  }

  [[nodiscard]] bool has(const std::string& name) const { return sections_.count(name) != 0; }
  [[nodiscard]] const std::vector<std::byte>& bytes(const std::string& name) const {
    auto it = sections_.find(name);
    if (it == sections_.end())
      throw input_error(origin_, 0, name, "checkpoint has no such section");
    return it->second;
  }
  /// Copies section `name` into `out`, which must have exactly the stored size.
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void get(const std::string& name, std::span<T> out) const {
    const auto& b = bytes(name);
    if (b.size() != out.size_bytes()) {
      throw input_error(origin_, 0, name,
                        "section holds " + std::to_string(b.size()) + " bytes, expected " +
                            std::to_string(out.size_bytes()) +
                            " (checkpoint of another model or configuration?)");
    }
    if (!b.empty()) std::memcpy(out.data(), b.data(), b.size());
  }
  template <class T>
  requires std::is_trivially_copyable_v<T>
  [[nodiscard]] T get_value(const std::string& name) const {
    T v{};
    get(name, std::span<T>(&v, 1));
    return v;
  }
  [[nodiscard]] std::string get_string(const std::string& name) const {
    const auto& b = bytes(name);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& [k, v] : sections_) n.push_back(k);
    return n;
  }

  /// Atomic write (temp file, fsync, rename, fsync of the directory).
  void save(const std::filesystem::path& path) const {
    std::vector<std::byte> out;
    auto append = [&](const void* p, std::size_t n) {
      const auto* b = static_cast<const std::byte*>(p);
      out.insert(out.end(), b, b + n);
    };
    append(checkpoint_magic, 8);
    const std::uint32_t version = checkpoint_format_version;
    append(&version, 4);
    const auto count = static_cast<std::uint32_t>(sections_.size());
    append(&count, 4);
    for (const auto& [name, payload] : sections_) {
      const auto len = static_cast<std::uint32_t>(name.size());
      append(&len, 4);
      append(name.data(), name.size());
      const auto size = static_cast<std::uint64_t>(payload.size());
      append(&size, 8);
      append(payload.data(), payload.size());
    }
    const std::uint64_t sum = xxh64::of(out.data(), out.size());
    append(&sum, 8);
    write_atomically(path, out);
  }

  /// Reads and verifies a checkpoint; a truncated, tampered or foreign file is an input_error.
  [[nodiscard]] static checkpoint load(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw input_error(file, 0, "", "cannot open checkpoint");
    std::vector<std::byte> data(static_cast<std::size_t>(in.tellg()));
    in.seekg(0);
    if (!in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()))) {
      throw input_error(file, 0, "", "cannot read checkpoint");
    }
    if (data.size() < 8 + 4 + 4 + 8 || std::memcmp(data.data(), checkpoint_magic, 8) != 0) {
      throw input_error(file, 0, "header", "not a recnas checkpoint (bad magic or too short)");
    }
    std::uint64_t stored = 0;
    std::memcpy(&stored, data.data() + data.size() - 8, 8);
    if (xxh64::of(data.data(), data.size() - 8) != stored) {
      throw input_error(file, 0, "checksum",
                        "checkpoint is corrupt or truncated (checksum mismatch)");
    }
    std::size_t pos = 8;
    auto read = [&](void* dst, std::size_t n, const char* what) {
      if (pos + n > data.size() - 8) throw input_error(file, 0, what, "checkpoint is truncated");
      std::memcpy(dst, data.data() + pos, n);
      pos += n;
    };
    std::uint32_t version = 0, count = 0;
    read(&version, 4, "version");
    if (version != checkpoint_format_version) {
      throw input_error(file, 0, "version",
                        "checkpoint format version " + std::to_string(version) +
                            " is not supported (this recnas reads version " +
                            std::to_string(checkpoint_format_version) + ")");
    }
    read(&count, 4, "section count");
    checkpoint ck;
    ck.origin_ = file;
    for (std::uint32_t s = 0; s < count; ++s) {
      std::uint32_t len = 0;
      read(&len, 4, "section name length");
      std::string name(len, '\0');
      read(name.data(), len, "section name");
      std::uint64_t size = 0;
      read(&size, 8, "section size");
      if (size > data.size()) throw input_error(file, 0, name, "section size exceeds the file");
      std::vector<std::byte> payload(static_cast<std::size_t>(size));
      read(payload.data(), payload.size(), name.c_str());
      ck.sections_[name] = std::move(payload);
    }
    if (pos != data.size() - 8)
      throw input_error(file, 0, "trailer", "unexpected bytes after the last section");
    return ck;
  }

 private:
  static void write_atomically(const std::filesystem::path& path,
                               const std::vector<std::byte>& bytes) {
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    const std::filesystem::path tmp =
        path.string() + ".tmp." + std::to_string(static_cast<long long>(::getpid()));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw error("cannot create " + tmp.string() + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        const int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw error("cannot write " + tmp.string() + ": " + std::strerror(e));
      }
      done += static_cast<std::size_t>(w);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      ::unlink(tmp.c_str());
      throw error("cannot flush " + tmp.string() + ": " + std::strerror(errno));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      const int e = errno;
      ::unlink(tmp.c_str());
      throw error("cannot rename " + tmp.string() + " to " + path.string() + ": " +
                  std::strerror(e));
    }
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }

  std::map<std::string, std::vector<std::byte>> sections_;
  std::string origin_;
};

}  // namespace recnas::train
