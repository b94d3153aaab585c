// dvmm_rx_queue: the host receive queue, a packet FIFO whose writer can
// take back what it wrote. The receive path writes a message's beats while
// the frame is still arriving, and only at its end knows whether the frame
// is good: commit makes the beats written since the last commit visible to
// the host as one AXI-Stream packet, rollback discards them.
//
// The writer must not commit in a cycle in which it writes (dvmm_rx
// commits one cycle after the last beat): the registered block-RAM read
// would otherwise return the word from before the write.
`default_nettype none

module dvmm_rx_queue #(
    parameter int BEATS = 256,  // capacity in 64-bit beats, power of 2
    localparam int AW = $clog2(BEATS)
) (
    input  wire logic        clk,
    input  wire logic        rst,
    // writer
    input  wire logic        wr_en,
    input  wire logic [63:0] wr_data,
    input  wire logic [7:0]  wr_keep,
    input  wire logic        wr_last,
    input  wire logic        commit,
    input  wire logic        rollback,
    output logic      [AW:0] free,      // beats that can still be written
    // to the host
    output logic      [63:0] m_tdata,
    output logic      [7:0]  m_tkeep,
    output logic             m_tlast,
    output logic             m_tvalid,
    input  wire logic        m_tready
);
  logic [AW:0] wr_q, commit_q, rd_q;
  logic [AW:0] rd_next;
  logic pop;

  assign free = (AW + 1)'(BEATS) - (wr_q - rd_q);
  assign m_tvalid = rd_q != commit_q;
  assign pop = m_tvalid && m_tready;
  assign rd_next = pop ? rd_q + 1'b1 : rd_q;

  dvmm_sdp_ram #(.DEPTH(BEATS), .WIDTH(73), .REG_READ(1)) u_ram (
      .clk(clk),
      .wr_en(wr_en),
      .wr_addr(wr_q[AW-1:0]),
      .wr_data({wr_last, wr_keep, wr_data}),
      .rd_addr(rd_next[AW-1:0]),
      .rd_data({m_tlast, m_tkeep, m_tdata})
  );

  always_ff @(posedge clk) begin
    if (wr_en) wr_q <= wr_q + 1'b1;
    if (commit) commit_q <= wr_q;
    if (rollback) wr_q <= commit_q;
    rd_q <= rd_next;
    if (rst) begin
      wr_q <= '0;
      commit_q <= '0;
      rd_q <= '0;
    end
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst) begin
      assert (!(commit && (wr_en || rollback))) else $error("rx_queue: commit with a write or a rollback");
      assert (!(wr_en && free == 0)) else $error("rx_queue: write to a full queue");
    end
  end
`endif
endmodule

`default_nettype wire
