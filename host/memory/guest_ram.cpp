#include "host/memory/guest_ram.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace dvmm {

Result<GuestRam> GuestRam::create(uint64_t size) {
  if (size == 0 || size % kPageSize != 0) {
    return Error::format("guest RAM size {:#x} is not a positive multiple of 4 KiB", size);
  }
  int fd = memfd_create("dvmm-guest-ram", MFD_CLOEXEC);
  if (fd < 0) return Error::from_errno("memfd_create(guest RAM)");
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    Error e = Error::from_errno(fmt::format("ftruncate(guest RAM, {} bytes)", size));
    close(fd);
    return e;
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) {
    Error e = Error::from_errno(fmt::format("mmap(guest RAM, {} bytes)", size));
    close(fd);
    return e;
  }
  return GuestRam(fd, static_cast<uint8_t*>(p), size);
}

Result<GuestRam> GuestRam::open_shared(const std::string& path, uint64_t size, bool clear) {
  if (size == 0 || size % kPageSize != 0) {
    return Error::format("guest RAM size {:#x} is not a positive multiple of 4 KiB", size);
  }
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error::from_errno(fmt::format("open(shared guest RAM '{}')", path));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    Error e = Error::from_errno(fmt::format("fstat('{}')", path));
    close(fd);
    return e;
  }
  if ((clear && ftruncate(fd, 0) != 0) ||
      ((clear || static_cast<uint64_t>(st.st_size) < size) &&
       ftruncate(fd, static_cast<off_t>(size)) != 0)) {
    Error e = Error::from_errno(fmt::format("ftruncate('{}', {} bytes)", path, size));
    close(fd);
    return e;
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) {
    Error e = Error::from_errno(fmt::format("mmap('{}', {} bytes)", path, size));
    close(fd);
    return e;
  }
  return GuestRam(fd, static_cast<uint8_t*>(p), size);
}

Result<GuestRam> GuestRam::create_anonymous(uint64_t size) {
  if (size == 0 || size % kPageSize != 0) {
    return Error::format("guest RAM size {:#x} is not a positive multiple of 4 KiB", size);
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) return Error::from_errno(fmt::format("mmap(guest RAM, {} bytes)", size));
  return GuestRam(-1, static_cast<uint8_t*>(p), size);
}

GuestRam::~GuestRam() { release(); }

void GuestRam::release() {
  if (base_ != nullptr) munmap(base_, size_);
  if (fd_ >= 0) close(fd_);
  base_ = nullptr;
  fd_ = -1;
  size_ = 0;
}

GuestRam::GuestRam(GuestRam&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

GuestRam& GuestRam::operator=(GuestRam&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Status GuestRam::read(GuestAddress gpa, std::span<uint8_t> out) const {
  if (!contains(gpa, out.size())) {
    return Error::format("guest read of {} bytes at {:#x} is outside guest RAM (size {:#x})",
                         out.size(), gpa.raw, size_);
  }
  if (!out.empty()) std::memcpy(out.data(), base_ + gpa.raw, out.size());
  return {};
}

Status GuestRam::write(GuestAddress gpa, std::span<const uint8_t> in) {
  if (!contains(gpa, in.size())) {
    return Error::format("guest write of {} bytes at {:#x} is outside guest RAM (size {:#x})",
                         in.size(), gpa.raw, size_);
  }
  if (!in.empty()) std::memcpy(base_ + gpa.raw, in.data(), in.size());
  return {};
}

}  // namespace dvmm
