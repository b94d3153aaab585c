// Guest RAM as the DSM layer sees it on one node: a private anonymous
// mapping registered with userfaultfd for missing-page and write-protect
// faults. It executes the coherence protocol's page operations (install a
// copy read-only or writable, upgrade, downgrade, copy out, drop) with
// UFFDIO_COPY, UFFDIO_WRITEPROTECT and MADV_DONTNEED, and a fault thread
// turns every fault of a vCPU (inside KVM_RUN) or of a host thread into a
// request to the protocol. The faulting thread stays blocked in the kernel
// until the page is installed, which wakes it.
//
// Costs measured on these machines (FACTS.md): a missing fault resolved by
// UFFDIO_COPY 45-70 µs as seen by the guest, a WP fault 45-70 µs,
// invalidating one page 4-40 µs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "host/common/result.hpp"
#include "host/dsm/page_store.hpp"

namespace dvmm::dsm {

class UffdRegion final : public PageStore {
 public:
  // Registers [base, base + size) (page aligned, private anonymous memory)
  // with a new userfaultfd. Pages already present stay as they are: on the
  // node that initially owns every page, what the loader wrote is its copy.
  static Result<std::unique_ptr<UffdRegion>> create(uint8_t* base, uint64_t size);
  ~UffdRegion() override;
  UffdRegion(const UffdRegion&) = delete;
  UffdRegion& operator=(const UffdRegion&) = delete;

  using FaultHandler = std::function<void(PageNumber page, Access access)>;
  // Starts the fault thread; every fault is reported once per event.
  Status start(FaultHandler handler);
  void stop();

  // PageStore
  void install(PageNumber page, const uint8_t* data, bool writable) override;
  void make_writable(PageNumber page) override;
  void write_protect(PageNumber page) override;
  void read_page(PageNumber page, uint8_t* out) override;
  void drop(PageNumber page) override;

  // Wakes threads faulting on a page that turned out to be accessible
  // already (a fault that raced with the page's arrival).
  void wake(PageNumber page);

  struct Counters {
    uint64_t missing_faults = 0;
    uint64_t wp_faults = 0;
    uint64_t uffd_errors = 0;  // ioctl failures other than "already there"
  };
  Counters counters() const;

 private:
  UffdRegion(int uffd, int stop_fd, uint8_t* base, uint64_t size)
      : uffd_(uffd), stop_fd_(stop_fd), base_(base), size_(size) {}
  void fault_loop();
  void protect(PageNumber page, bool wp);
  bool copy_in(PageNumber page, const uint8_t* data, bool writable);
  uint64_t address(PageNumber page) const;

  int uffd_;
  int stop_fd_;
  int pagemap_fd_ = -1;
  uint8_t* base_;
  uint64_t size_;
  FaultHandler handler_;
  std::thread thread_;
  std::atomic<uint64_t> missing_faults_{0};
  std::atomic<uint64_t> wp_faults_{0};
  std::atomic<uint64_t> uffd_errors_{0};
};

}  // namespace dvmm::dsm
