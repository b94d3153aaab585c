// Guest RAM backed by one memfd, mapped shared into this process. A memfd
// (rather than anonymous memory) lets several node processes on one host map
// the same RAM, and lets KVM map it as a memory slot.
#pragma once

#include <cstdint>
#include <string>

#include "host/memory/guest_memory.hpp"

namespace dvmm {

class GuestRam final : public GuestMemory {
 public:
  // Creates size bytes (a multiple of 4 KiB) of zeroed guest RAM.
  static Result<GuestRam> create(uint64_t size);
  // Maps size bytes of the file at path (on tmpfs, e.g. /dev/shm), creating
  // it if needed, so that node processes on one host share guest RAM. With
  // `clear`, existing contents are discarded first (the I/O home does this
  // before it loads the guest; the other nodes do not touch RAM before the
  // VM starts).
  static Result<GuestRam> open_shared(const std::string& path, uint64_t size, bool clear);
  // Private anonymous memory, for the distributed shared memory layer: it
  // registers the mapping with userfaultfd and drops pages with
  // MADV_DONTNEED, which only anonymous memory honours (FACTS.md).
  static Result<GuestRam> create_anonymous(uint64_t size);
  ~GuestRam() override;
  GuestRam(GuestRam&& other) noexcept;
  GuestRam& operator=(GuestRam&& other) noexcept;
  GuestRam(const GuestRam&) = delete;
  GuestRam& operator=(const GuestRam&) = delete;

  uint64_t size() const override { return size_; }
  Status read(GuestAddress gpa, std::span<uint8_t> out) const override;
  Status write(GuestAddress gpa, std::span<const uint8_t> in) override;

  // The host mapping, for the KVM memory slot and the DSM layer. Callers that touch guest data
  // use read/write instead.
  uint8_t* host_base() const { return base_; }
  int fd() const { return fd_; }

 private:
  GuestRam(int fd, uint8_t* base, uint64_t size) : fd_(fd), base_(base), size_(size) {}
  void release();

  int fd_ = -1;
  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace dvmm
