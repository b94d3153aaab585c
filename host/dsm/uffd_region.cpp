#include "host/dsm/uffd_region.hpp"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace dvmm::dsm {

namespace {

constexpr uint64_t kPage = 4096;

// A page of zeros for UFFDIO_COPY: UFFDIO_ZEROPAGE cannot install a page
// write-protected, and a zero page must be installable either way.
alignas(4096) const uint8_t kZeroPage[kPage] = {};

}  // namespace

Result<std::unique_ptr<UffdRegion>> UffdRegion::create(uint8_t* base, uint64_t size) {
  if (reinterpret_cast<uintptr_t>(base) % kPage != 0 || size % kPage != 0 || size == 0) {
    return Error::format("DSM region {}+{:#x} is not page aligned", static_cast<void*>(base), size);
  }
  // Not UFFD_USER_MODE_ONLY: KVM's own accesses to guest memory (inside
  // KVM_RUN) must fault into this handler too (FACTS.md).
  int uffd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (uffd < 0) {
    return Error::from_errno(
        "userfaultfd (distributed shared memory needs root, or vm.unprivileged_userfaultfd=1)");
  }
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP;
  if (ioctl(uffd, UFFDIO_API, &api) != 0) {
    Error e = Error::from_errno("UFFDIO_API with write-protect faults (needs Linux 5.7+)");
    close(uffd);
    return e;
  }
  uffdio_register reg{};
  reg.range.start = reinterpret_cast<uint64_t>(base);
  reg.range.len = size;
  reg.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP;
  if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
    Error e = Error::from_errno("UFFDIO_REGISTER(missing + write-protect) of guest RAM");
    close(uffd);
    return e;
  }
  int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0) {
    Error e = Error::from_errno("eventfd(DSM fault thread)");
    close(uffd);
    return e;
  }
  auto region = std::unique_ptr<UffdRegion>(new UffdRegion(uffd, stop_fd, base, size));
  region->pagemap_fd_ = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (region->pagemap_fd_ < 0) return Error::from_errno("open(/proc/self/pagemap)");
  return region;
}

UffdRegion::~UffdRegion() {
  stop();
  close(stop_fd_);
  if (pagemap_fd_ >= 0) close(pagemap_fd_);
  close(uffd_);  // unregisters; blocked faulting threads get SIGBUS-free retries
}

Status UffdRegion::start(FaultHandler handler) {
  handler_ = std::move(handler);
  thread_ = std::thread([this] { fault_loop(); });
  return {};
}

void UffdRegion::stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(stop_fd_, &one, sizeof(one));
  thread_.join();
}

uint64_t UffdRegion::address(PageNumber page) const {
  return reinterpret_cast<uint64_t>(base_) + page * kPage;
}

void UffdRegion::fault_loop() {
  uffd_msg msgs[32];
  for (;;) {
    pollfd fds[2] = {{uffd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) break;
    ssize_t n = read(uffd_, msgs, sizeof(msgs));
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      uffd_errors_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    for (size_t i = 0; i < static_cast<size_t>(n) / sizeof(uffd_msg); ++i) {
      const uffd_msg& m = msgs[i];
      if (m.event != UFFD_EVENT_PAGEFAULT) continue;
      const uint64_t addr = m.arg.pagefault.address;
      if (addr < reinterpret_cast<uint64_t>(base_) || addr >= reinterpret_cast<uint64_t>(base_) + size_) {
        continue;
      }
      const bool wp = (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) != 0;
      const bool write = (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0;
      (wp ? wp_faults_ : missing_faults_).fetch_add(1, std::memory_order_relaxed);
      handler_((addr - reinterpret_cast<uint64_t>(base_)) / kPage,
               (write || wp) ? Access::kWrite : Access::kRead);
    }
  }
}

// Places a page with UFFDIO_COPY (which wakes the threads faulting on it).
// Returns false when a page is already present there.
bool UffdRegion::copy_in(PageNumber page, const uint8_t* data, bool writable) {
  uffdio_copy copy{};
  copy.dst = address(page);
  copy.src = reinterpret_cast<uint64_t>(data != nullptr ? data : kZeroPage);
  copy.len = kPage;
  copy.mode = writable ? 0 : UFFDIO_COPY_MODE_WP;
  if (ioctl(uffd_, UFFDIO_COPY, &copy) == 0) return true;
  if (errno != EEXIST) {
    uffd_errors_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("DSM: UFFDIO_COPY of page {:#x}: {}", page, std::strerror(errno));
    return true;
  }
  return false;
}

void UffdRegion::install(PageNumber page, const uint8_t* data, bool writable) {
  if (copy_in(page, data, writable)) return;
  // New contents replace a present copy: drop it first. A local access in
  // between faults and waits for the protocol, which is busy with us.
  drop(page);
  copy_in(page, data, writable);
}

void UffdRegion::wake(PageNumber page) {
  uffdio_range range{address(page), kPage};
  if (ioctl(uffd_, UFFDIO_WAKE, &range) != 0) uffd_errors_.fetch_add(1, std::memory_order_relaxed);
}

void UffdRegion::protect(PageNumber page, bool wp) {
  uffdio_writeprotect w{};
  w.range.start = address(page);
  w.range.len = kPage;
  w.mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0;  // clearing also wakes the faulting threads
  if (ioctl(uffd_, UFFDIO_WRITEPROTECT, &w) != 0) {
    uffd_errors_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("DSM: UFFDIO_WRITEPROTECT({}) of page {:#x}: {}", wp, page, std::strerror(errno));
  }
}

// Both keep the contents of a present page; a page never populated here is
// a zero page (the protocol's invariant), installed with the protection.
void UffdRegion::make_writable(PageNumber page) {
  if (!copy_in(page, nullptr, true)) protect(page, false);
}

void UffdRegion::write_protect(PageNumber page) {
  if (!copy_in(page, nullptr, false)) protect(page, true);
}

void UffdRegion::read_page(PageNumber page, uint8_t* out) {
  // The caller (the protocol, holding its lock) must never fault here: a
  // page the node holds but never touched is not mapped yet, and reading it
  // would wait for the protocol itself. /proc/self/pagemap tells: bit 63
  // present, bit 62 swapped; neither means the page was never populated,
  // and a never-populated page of ours is all zeros.
  uint64_t entry = 0;
  const off_t at = static_cast<off_t>(address(page) / kPage * sizeof(entry));
  if (pagemap_fd_ >= 0 && pread(pagemap_fd_, &entry, sizeof(entry), at) == sizeof(entry) &&
      (entry & (3ull << 62)) == 0) {
    std::memset(out, 0, kPage);
    return;
  }
  std::memcpy(out, base_ + page * kPage, kPage);
}

void UffdRegion::drop(PageNumber page) {
  // Anonymous memory: MADV_DONTNEED really drops the page (on shmem it
  // would not, FACTS.md); the next access is a missing fault.
  if (madvise(base_ + page * kPage, kPage, MADV_DONTNEED) != 0) {
    uffd_errors_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("DSM: madvise(DONTNEED) of page {:#x}: {}", page, std::strerror(errno));
  }
}

UffdRegion::Counters UffdRegion::counters() const {
  return Counters{missing_faults_.load(), wp_faults_.load(), uffd_errors_.load()};
}

}  // namespace dvmm::dsm
