#include "host/devices/uart16550.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/devices/fakes.hpp"

namespace dvmm {
namespace {

using test::inb;
using test::outb;

constexpr uint64_t kRbr = 0, kIer = 1, kIir = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7;
constexpr unsigned kLine = 4;

class UartTest : public ::testing::Test {
 protected:
  test::RecordingIrqSink irq;
  std::string output;
  Uart16550 uart{irq, kLine, [this](uint8_t b) { output.push_back(static_cast<char>(b)); }};

  void input(const std::string& s) {
    std::vector<uint8_t> bytes(s.begin(), s.end());
    ASSERT_EQ(uart.enqueue_input(bytes), bytes.size());
  }
};

TEST_F(UartTest, TransmitsToSinkAndIsAlwaysIdle) {
  EXPECT_EQ(inb(uart, kLsr), 0x60);  // THRE | TEMT, no data
  for (char c : std::string("hi\n")) outb(uart, kRbr, static_cast<uint8_t>(c));
  EXPECT_EQ(output, "hi\n");
  EXPECT_EQ(inb(uart, kLsr) & 0x60, 0x60);
  EXPECT_TRUE(irq.calls.empty());  // no interrupt enabled
}

TEST_F(UartTest, ReceivesInputInOrderWithDataReady) {
  input("ab");
  EXPECT_EQ(inb(uart, kLsr) & 0x01, 0x01);
  EXPECT_EQ(inb(uart, kRbr), 'a');
  EXPECT_EQ(inb(uart, kLsr) & 0x01, 0x01);
  EXPECT_EQ(inb(uart, kRbr), 'b');
  EXPECT_EQ(inb(uart, kLsr) & 0x01, 0x00);
}

TEST_F(UartTest, RxInterruptFollowsDataAndEnable) {
  outb(uart, kIer, 0x01);
  EXPECT_EQ(inb(uart, kIir), 0x01);  // nothing pending
  EXPECT_FALSE(irq.level(kLine));
  input("x");
  EXPECT_TRUE(irq.level(kLine));
  EXPECT_EQ(inb(uart, kIir), 0x04);
  EXPECT_EQ(inb(uart, kRbr), 'x');
  EXPECT_FALSE(irq.level(kLine));
  EXPECT_EQ(inb(uart, kIir), 0x01);
  // Data without the enable does not interrupt.
  outb(uart, kIer, 0x00);
  input("y");
  EXPECT_FALSE(irq.level(kLine));
  // Enabling with data waiting does.
  outb(uart, kIer, 0x01);
  EXPECT_TRUE(irq.level(kLine));
  ASSERT_FALSE(irq.calls.empty());
  EXPECT_EQ(irq.calls.back().first, kLine);
}

TEST_F(UartTest, ThrEmptyInterruptOnEnableAndAfterEachByte) {
  outb(uart, kIer, 0x02);
  EXPECT_TRUE(irq.level(kLine));
  EXPECT_EQ(inb(uart, kIir), 0x02);
  // Reading IIR acknowledged THRE.
  EXPECT_FALSE(irq.level(kLine));
  EXPECT_EQ(inb(uart, kIir), 0x01);
  outb(uart, kRbr, 'z');
  EXPECT_TRUE(irq.level(kLine));
  EXPECT_EQ(irq.rising_edges(kLine), 2);
  // Disabling the source lowers the line.
  outb(uart, kIer, 0x00);
  EXPECT_FALSE(irq.level(kLine));
}

TEST_F(UartTest, IirReportsRxDataBeforeThrEmpty) {
  outb(uart, kIer, 0x03);
  input("q");
  EXPECT_EQ(inb(uart, kIir), 0x04);
  EXPECT_EQ(inb(uart, kRbr), 'q');
  EXPECT_EQ(inb(uart, kIir), 0x02);
  EXPECT_EQ(inb(uart, kIir), 0x01);
  EXPECT_FALSE(irq.level(kLine));
}

TEST_F(UartTest, DivisorLatchShadowsRbrAndIer) {
  outb(uart, kIer, 0x05);
  outb(uart, kLcr, 0x83);
  outb(uart, kRbr, 0x01);  // DLL: not transmitted
  outb(uart, kIer, 0x00);  // DLM: IER untouched
  EXPECT_EQ(inb(uart, kRbr), 0x01);
  EXPECT_EQ(inb(uart, kIer), 0x00);
  EXPECT_TRUE(output.empty());
  outb(uart, kLcr, 0x03);
  EXPECT_EQ(inb(uart, kIer), 0x05);
  EXPECT_EQ(inb(uart, kLcr), 0x03);
}

TEST_F(UartTest, IerKeepsOnlyDefinedBits) {
  // Linux's autoconfig writes 0x0F and expects exactly 0x0F back; and it
  // rejects a UART that keeps bit 6 (XScale UUE).
  outb(uart, kIer, 0xFF);
  EXPECT_EQ(inb(uart, kIer), 0x0F);
}

TEST_F(UartTest, LoopbackMirrorsModemLinesAndReceivesOwnBytes) {
  EXPECT_EQ(inb(uart, kMsr) & 0xF0, 0xB0);  // DCD DSR CTS
  outb(uart, kMcr, 0x10 | 0x0A);            // LOOP | RTS | OUT2: Linux's probe
  EXPECT_EQ(inb(uart, kMsr) & 0xF0, 0x90);  // CTS | DCD
  outb(uart, kMcr, 0x10 | 0x05);            // LOOP | DTR | OUT1
  EXPECT_EQ(inb(uart, kMsr) & 0xF0, 0x60);  // DSR | RI
  outb(uart, kRbr, 'L');
  EXPECT_TRUE(output.empty());
  EXPECT_EQ(inb(uart, kLsr) & 0x01, 0x01);
  EXPECT_EQ(inb(uart, kRbr), 'L');
  outb(uart, kMcr, 0x00);
  outb(uart, kRbr, 'O');
  EXPECT_EQ(output, "O");
}

TEST_F(UartTest, FifoControlShowsInIirAndClearsRx) {
  EXPECT_EQ(inb(uart, kIir) & 0xC0, 0x00);
  outb(uart, kIir, 0x01);
  EXPECT_EQ(inb(uart, kIir), 0xC1);  // 16550A with FIFOs on
  input("abc");
  outb(uart, kIir, 0x03);  // enable + clear rx
  EXPECT_EQ(inb(uart, kLsr) & 0x01, 0x00);
}

TEST_F(UartTest, ScratchRegisterHoldsValue) {
  outb(uart, kScr, 0xA5);
  EXPECT_EQ(inb(uart, kScr), 0xA5);
  outb(uart, kScr, 0x5A);
  EXPECT_EQ(inb(uart, kScr), 0x5A);
}

TEST_F(UartTest, InputBeyondCapacityIsRefused) {
  std::vector<uint8_t> big(Uart16550::kInputCapacity + 10, 'k');
  EXPECT_EQ(uart.enqueue_input(big), Uart16550::kInputCapacity);
  EXPECT_EQ(uart.input_space(), 0u);
  inb(uart, kRbr);
  EXPECT_EQ(uart.input_space(), 1u);
}

TEST_F(UartTest, WideAccessIsSplitIntoBytes) {
  outb(uart, kScr, 0x11);
  // A 2-byte read at offset 6 reads MSR then SCR.
  uint64_t v = test::in(uart, 6, 2);
  EXPECT_EQ(v >> 8, 0x11u);
  EXPECT_EQ(v & 0xF0, 0xB0u);
}

}  // namespace
}  // namespace dvmm
