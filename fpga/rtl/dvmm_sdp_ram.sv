// dvmm_sdp_ram: simple dual-port RAM, one write port and one read port,
// written so that synthesis infers block RAM (REG_READ = 1: the read
// address is sampled every cycle, data appears the next cycle) or LUT RAM
// (REG_READ = 0: asynchronous read).
//
// With REG_READ = 1 a read of the address being written returns the old
// contents (read-first); callers never read a word in the cycle it is
// written (the retransmit ring and the receive queue only read committed
// entries).
`default_nettype none

module dvmm_sdp_ram #(
    parameter int DEPTH = 256,   // words
    parameter int WIDTH = 64,    // bits per word
    parameter bit REG_READ = 1'b1,  // 1: registered read (block RAM), 0: asynchronous
    localparam int ADDR_W = $clog2(DEPTH)
) (
    input  wire logic              clk,
    input  wire logic              wr_en,
    input  wire logic [ADDR_W-1:0] wr_addr,
    input  wire logic [WIDTH-1:0]  wr_data,
    input  wire logic [ADDR_W-1:0] rd_addr,
    output logic      [WIDTH-1:0]  rd_data
);
  logic [WIDTH-1:0] mem [0:DEPTH-1];

  always_ff @(posedge clk) begin
    if (wr_en) mem[wr_addr] <= wr_data;
  end

  if (REG_READ) begin : g_reg
    always_ff @(posedge clk) rd_data <= mem[rd_addr];
  end else begin : g_async
    assign rd_data = mem[rd_addr];
  end
endmodule

`default_nettype wire
