// 16550A UART (National Semiconductor PC16550D data sheet; the register set
// every PC COM port has), as the guest console at COM1 (port 0x3F8, IRQ 4).
//
// Register map (offset from the base; DLAB = LCR bit 7):
//   0  R  RBR  receive buffer            (DLAB=1: DLL divisor latch low)
//   0  W  THR  transmit holding          (DLAB=1: DLL)
//   1  RW IER  interrupt enable, bits 3:0 (DLAB=1: DLM divisor latch high)
//              0 ERBFI rx data available, 1 ETBEI THR empty,
//              2 ELSI line status, 3 EDSSI modem status
//   2  R  IIR  interrupt identification: bit 0 = 1 when nothing is pending,
//              bits 3:1 = 011 line status, 010 rx data, 001 THR empty,
//              000 modem status; bits 7:6 = 11 when the FIFOs are enabled
//   2  W  FCR  FIFO control: 0 enable, 1 clear rx, 2 clear tx
//   3  RW LCR  line control; bit 7 DLAB
//   4  RW MCR  modem control: 0 DTR, 1 RTS, 2 OUT1, 3 OUT2, 4 LOOP
//   5  R  LSR  line status: 0 DR data ready, 1 OE overrun, 5 THRE, 6 TEMT
//   6  R  MSR  modem status: 4 CTS, 5 DSR, 6 RI, 7 DCD (delta bits 3:0 = 0)
//   7  RW SCR  scratch
//
// Model: transmission is instantaneous (THRE and TEMT are always set), every
// byte written to THR goes to the output sink at once. Received bytes wait
// in a buffer larger than the 16-byte hardware FIFO so that console input
// is not lost; the rx-data interrupt is raised as soon as one byte is there
// (no trigger level, no character-timeout interrupt: Linux treats both the
// same). The modem lines read as connected (DCD, DSR, CTS). In loopback
// (MCR.LOOP) THR bytes are received instead of sent, and MSR mirrors MCR
// (CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2), which is what Linux's autoconfig
// probe checks. As in QEMU, OUT2 does not gate the interrupt line.
//
// The interrupt output is a level: IrqSink::set_irq(line, true) while an
// enabled interrupt is pending, false when none is, called only on change.
//
// Accesses wider than a byte are split into byte accesses at consecutive
// offsets, as the ISA bus does.
//
// Thread safety and lock order: every public member takes the internal
// mutex. The output sink and the IrqSink are called with it held, so they
// must not call back into this Uart16550 (lock order: Uart -> IrqSink).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

#include "host/devices/bus_device.hpp"
#include "host/devices/interrupts.hpp"

namespace dvmm {

class Uart16550 final : public BusDevice {
 public:
  static constexpr uint64_t kCom1Base = 0x3F8;
  static constexpr uint64_t kLength = 8;
  static constexpr unsigned kCom1Irq = 4;
  // Bytes of console input held before enqueue_input refuses more.
  static constexpr size_t kInputCapacity = 4096;

  // Registers, as offsets from the base.
  enum Reg : uint64_t {
    kRbrThr = 0,  // DLL when DLAB
    kIer = 1,     // DLM when DLAB
    kIirFcr = 2,
    kLcr = 3,
    kMcr = 4,
    kLsr = 5,
    kMsr = 6,
    kScr = 7,
  };

  // irq/irq_line: the interrupt output. output: receives every transmitted
  // byte (may be empty to discard them).
  Uart16550(IrqSink& irq, unsigned irq_line, std::function<void(uint8_t)> output);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Console input: appends bytes to the receive buffer and raises the
  // rx-data interrupt if enabled. Returns how many bytes were taken (fewer
  // than given when the buffer is full; the caller retries later).
  size_t enqueue_input(std::span<const uint8_t> bytes);
  // Free space in the receive buffer.
  size_t input_space() const;

 private:
  uint8_t read_byte_locked(uint64_t offset);
  void write_byte_locked(uint64_t offset, uint8_t value);
  uint8_t iir_locked() const;
  uint8_t msr_locked() const;
  void receive_locked(uint8_t byte);
  void update_irq_locked();

  IrqSink& irq_;
  const unsigned irq_line_;
  const std::function<void(uint8_t)> output_;

  mutable std::mutex mu_;
  std::deque<uint8_t> rx_;
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0x03;  // 8N1
  uint8_t mcr_ = 0x08;  // OUT2, as a PC BIOS leaves it
  uint8_t scr_ = 0;
  uint8_t dll_ = 0x0C;  // 9600 baud
  uint8_t dlm_ = 0;
  bool fifo_enabled_ = false;
  bool overrun_ = false;      // LSR.OE, cleared by reading LSR
  bool thre_pending_ = false; // THR-empty interrupt condition (cleared by IIR read / THR write)
  bool irq_level_ = false;    // last level given to irq_
};

}  // namespace dvmm
