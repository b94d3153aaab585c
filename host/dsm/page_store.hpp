// The local memory under the DSM protocol engine: what one node's copy of a
// guest page is, and the few changes the protocol makes to it. The engine
// (dsm_protocol.hpp) decides; a PageStore does. In a node process the store
// is guest RAM registered with userfaultfd (UFFDIO_COPY, UFFDIO_WRITEPROTECT,
// MADV_DONTNEED); in tests it is a map.
//
// A local copy is absent, present read-only, or present writable. A page the
// store never populated (its initial owner never touched it) is a zero page:
// reading it yields zeros, and making it accessible makes it a present zero
// page.
//
// Threading: the engine calls these with its lock held, so a store must not
// call back into the engine. Each call that makes the page accessible also
// wakes local accesses waiting on it (faulting vCPUs).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dvmm::dsm {

using PageNumber = uint64_t;  // guest-physical address / kPageSize
constexpr size_t kPageSize = 4096;

enum class Access : uint8_t { kRead, kWrite };

// This node's right to a page, as the protocol sees it.
enum class PageState : uint8_t {
  kInvalid,    // no copy: any access needs the page from another node
  kShared,     // read-only copy; other nodes may have one too
  kExclusive,  // the only copy, writable (maybe not yet populated locally)
};

class PageStore {
 public:
  virtual ~PageStore() = default;

  // New contents arrived: replace the local copy with `data` (kPageSize
  // bytes; nullptr means a zero page) and make it present, writable or
  // read-only.
  virtual void install(PageNumber page, const uint8_t* data, bool writable) = 0;

  // The local copy is current (shared -> exclusive, or an exclusive page
  // touched for the first time): make it present and writable. A page never
  // populated here becomes a zero page. Also called for a page that already
  // is (a duplicate fault): then only wake the waiters.
  virtual void make_writable(PageNumber page) = 0;

  // Exclusive -> shared: once this returns, no local write may reach the
  // page (the engine reads it afterwards and ships it as current). It stays
  // present read-only; a page never populated here becomes a read-only zero
  // page.
  virtual void write_protect(PageNumber page) = 0;

  // Copies the current contents of the local copy (zeros if never
  // populated) into out (kPageSize bytes). The page is write-protected or
  // exclusive to this node when called.
  virtual void read_page(PageNumber page, uint8_t* out) = 0;

  // Invalidates the local copy: the next local access faults. Called after
  // write_protect + read_page when the contents must travel, so no write is
  // lost between the copy and the drop.
  virtual void drop(PageNumber page) = 0;
};

}  // namespace dvmm::dsm
