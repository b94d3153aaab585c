// dvmm_ipi_dma: the IPI fast path's DMA writer. Each in-order IPI marks
// vector `vector` pending for its target vCPU in host memory. The pending
// "bitmap" of vCPU v is 256 bytes at bitmap_base + 256 * v, one byte per
// vector, and one request becomes one write of the byte 0x01 at
//   m_dma_addr = bitmap_base + 256 * vcpu + vector
// A byte of its own per vector makes the write a plain narrow store: no
// read-modify-write of memory the host also writes, which a PCIe posted
// write (no AtomicOp OR) could not do. The engine never clears a byte; the
// host takes pending vectors by exchanging whole words with 0 (an atomic
// exchange is atomic with respect to the device's coherent byte write).
// Setting a byte twice is harmless, so the write carries no sequence
// information.
//
// A small FIFO absorbs bursts so the receive path rarely waits for the
// DMA port.
`default_nettype none

module dvmm_ipi_dma #(
    parameter int DEPTH = 4  // queued requests, power of 2
) (
    input  wire logic        clk,
    input  wire logic        rst,
    input  wire logic [63:0] bitmap_base,
    input  wire logic        req_valid,
    output logic             req_ready,
    input  wire logic [31:0] req_vcpu,
    input  wire logic [7:0]  req_vector,
    output logic             m_dma_valid,
    input  wire logic        m_dma_ready,
    output logic      [63:0] m_dma_addr   // the byte to set to 0x01
);
  localparam int AW = $clog2(DEPTH);
  logic [39:0] fifo [0:DEPTH-1];
  logic [AW:0] wr_q, rd_q;
  logic [31:0] vcpu;
  logic [7:0] vector;

  assign req_ready = (wr_q - rd_q) != (AW + 1)'(DEPTH);
  assign m_dma_valid = wr_q != rd_q;
  assign {vcpu, vector} = fifo[rd_q[AW-1:0]];
  assign m_dma_addr = bitmap_base + {24'd0, vcpu, 8'd0} + {56'd0, vector};

  always_ff @(posedge clk) begin
    if (req_valid && req_ready) begin
      fifo[wr_q[AW-1:0]] <= {req_vcpu, req_vector};
      wr_q <= wr_q + 1'b1;
    end
    if (m_dma_valid && m_dma_ready) rd_q <= rd_q + 1'b1;
    if (rst) begin
      wr_q <= '0;
      rd_q <= '0;
    end
  end
endmodule

`default_nettype wire
