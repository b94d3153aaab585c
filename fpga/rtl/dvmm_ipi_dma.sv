// dvmm_ipi_dma: the IPI fast path's DMA writer. Each in-order IPI sets bit
// `vector` of its target vCPU's 256-bit pending-interrupt bitmap in host
// memory. The bitmap of vCPU v is four little-endian u64 words at
//   bitmap_base + 32 * v        (vectors 0-63 in word 0, bit = vector % 64)
// and one request becomes one DMA write:
//   m_dma_addr = bitmap_base + 32 * vcpu + 8 * (vector / 64)   (8-byte aligned)
//   m_dma_data = 1 << (vector % 64)
// with the semantics of an atomic 64-bit OR: *(u64 *)addr |= data. Nothing
// is cleared by the engine; the host takes pending vectors with an atomic
// exchange of each word with 0. Setting a bit twice is harmless, so the
// write carries no sequence information.
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
    output logic      [63:0] m_dma_addr,
    output logic      [63:0] m_dma_data
);
  localparam int AW = $clog2(DEPTH);
  logic [39:0] fifo [0:DEPTH-1];
  logic [AW:0] wr_q, rd_q;
  logic [31:0] vcpu;
  logic [7:0] vector;

  assign req_ready = (wr_q - rd_q) != (AW + 1)'(DEPTH);
  assign m_dma_valid = wr_q != rd_q;
  assign {vcpu, vector} = fifo[rd_q[AW-1:0]];
  assign m_dma_addr = bitmap_base + {27'd0, vcpu, 5'd0} + {59'd0, vector[7:6], 3'd0};
  assign m_dma_data = 64'd1 << vector[5:0];

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
