#include "host/devices/uart16550.hpp"

#include <utility>

namespace dvmm {

namespace {

constexpr uint8_t kIerRxData = 0x01;
constexpr uint8_t kIerThre = 0x02;
constexpr uint8_t kIerLineStatus = 0x04;
constexpr uint8_t kIerMask = 0x0F;

constexpr uint8_t kIirNone = 0x01;
constexpr uint8_t kIirLineStatus = 0x06;
constexpr uint8_t kIirRxData = 0x04;
constexpr uint8_t kIirThre = 0x02;
constexpr uint8_t kIirFifoEnabled = 0xC0;

constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;

constexpr uint8_t kLcrDlab = 0x80;

constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMcrMask = 0x1F;

constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrOverrun = 0x02;
constexpr uint8_t kLsrThre = 0x20;
constexpr uint8_t kLsrTemt = 0x40;

constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;

}  // namespace

Uart16550::Uart16550(IrqSink& irq, unsigned irq_line, std::function<void(uint8_t)> output)
    : irq_(irq), irq_line_(irq_line), output_(std::move(output)) {}

void Uart16550::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); ++i) data[i] = read_byte_locked(offset + i);
  update_irq_locked();
}

void Uart16550::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); ++i) write_byte_locked(offset + i, data[i]);
  update_irq_locked();
}

size_t Uart16550::enqueue_input(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mu_);
  size_t taken = 0;
  while (taken < bytes.size() && rx_.size() < kInputCapacity) rx_.push_back(bytes[taken++]);
  update_irq_locked();
  return taken;
}

size_t Uart16550::input_space() const {
  std::lock_guard lock(mu_);
  return kInputCapacity - rx_.size();
}

uint8_t Uart16550::read_byte_locked(uint64_t offset) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThr: {
      if (dlab) return dll_;
      if (rx_.empty()) return 0;
      uint8_t b = rx_.front();
      rx_.pop_front();
      return b;
    }
    case kIer:
      return dlab ? dlm_ : ier_;
    case kIirFcr: {
      uint8_t iir = iir_locked();
      // Reading IIR while it reports THR empty acknowledges that interrupt.
      if ((iir & 0x0F) == kIirThre) thre_pending_ = false;
      return iir;
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr: {
      uint8_t lsr = kLsrThre | kLsrTemt;
      if (!rx_.empty()) lsr |= kLsrDataReady;
      if (overrun_) lsr |= kLsrOverrun;
      overrun_ = false;
      return lsr;
    }
    case kMsr:
      return msr_locked();
    case kScr:
      return scr_;
    default:
      return 0;
  }
}

void Uart16550::write_byte_locked(uint64_t offset, uint8_t value) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThr:
      if (dlab) {
        dll_ = value;
        return;
      }
      if ((mcr_ & kMcrLoop) != 0) {
        receive_locked(value);
      } else if (output_) {
        output_(value);
      }
      // The byte leaves at once: THR is empty again, which is an interrupt.
      thre_pending_ = true;
      return;
    case kIer: {
      if (dlab) {
        dlm_ = value;
        return;
      }
      const uint8_t old = ier_;
      ier_ = value & kIerMask;
      // Enabling ETBEI while THR is empty (always, here) raises the
      // interrupt at once: Linux's startup test relies on it.
      if ((ier_ & kIerThre) != 0 && (old & kIerThre) == 0) thre_pending_ = true;
      if ((ier_ & kIerThre) == 0) thre_pending_ = false;
      return;
    }
    case kIirFcr:
      fifo_enabled_ = (value & kFcrEnable) != 0;
      if ((value & kFcrClearRx) != 0) rx_.clear();
      return;  // clearing the tx FIFO is a no-op: it is always empty
    case kLcr:
      lcr_ = value;
      return;
    case kMcr:
      mcr_ = value & kMcrMask;
      return;
    case kLsr:
    case kMsr:
      return;  // read-only (factory test writes ignored)
    case kScr:
      scr_ = value;
      return;
    default:
      return;
  }
}

uint8_t Uart16550::iir_locked() const {
  const uint8_t fifo = fifo_enabled_ ? kIirFifoEnabled : 0;
  if ((ier_ & kIerLineStatus) != 0 && overrun_) return fifo | kIirLineStatus;
  if ((ier_ & kIerRxData) != 0 && !rx_.empty()) return fifo | kIirRxData;
  if ((ier_ & kIerThre) != 0 && thre_pending_) return fifo | kIirThre;
  // Modem-status interrupts never occur: the delta bits stay clear.
  return fifo | kIirNone;
}

uint8_t Uart16550::msr_locked() const {
  if ((mcr_ & kMcrLoop) == 0) return kMsrDcd | kMsrDsr | kMsrCts;
  uint8_t msr = 0;
  if ((mcr_ & kMcrRts) != 0) msr |= kMsrCts;
  if ((mcr_ & kMcrDtr) != 0) msr |= kMsrDsr;
  if ((mcr_ & kMcrOut1) != 0) msr |= kMsrRi;
  if ((mcr_ & kMcrOut2) != 0) msr |= kMsrDcd;
  return msr;
}

void Uart16550::receive_locked(uint8_t byte) {
  if (rx_.size() >= kInputCapacity) {
    overrun_ = true;
    return;
  }
  rx_.push_back(byte);
}

void Uart16550::update_irq_locked() {
  const bool level = (iir_locked() & kIirNone) == 0;
  if (level == irq_level_) return;
  irq_level_ = level;
  irq_.set_irq(irq_line_, level);
}

}  // namespace dvmm
