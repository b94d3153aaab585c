// dvmm_fcs_insert: appends the Ethernet FCS (CRC-32) to each AXI-Stream
// frame. The input is a frame without FCS, at least one byte, tkeep
// contiguous from lane 0 (only the last beat may be partial). The FCS goes
// into the free lanes of the last beat, and into one extra beat when fewer
// than four lanes are free.
//
// One registered output stage (plus the extra beat) keeps the CRC logic
// off the downstream ready path; throughput is one beat per cycle except
// for the extra beat.
`default_nettype none

module dvmm_fcs_insert (
    input  wire logic        clk,
    input  wire logic        rst,
    input  wire logic [63:0] s_tdata,
    input  wire logic [7:0]  s_tkeep,
    input  wire logic        s_tlast,
    input  wire logic        s_tvalid,
    output logic             s_tready,
    output logic      [63:0] m_tdata,
    output logic      [7:0]  m_tkeep,
    output logic             m_tlast,
    output logic             m_tvalid,
    input  wire logic        m_tready
);
  logic [31:0] crc_q, crc_step;
  logic [63:0] extra_data_q;
  logic [7:0] extra_keep_q;
  logic extra_q;  // an extra beat holding the FCS tail waits to go out

  dvmm_crc32 u_crc (.crc_in(crc_q), .data(s_tdata), .keep(s_tkeep), .crc_out(crc_step));

  logic out_free;
  assign out_free = !m_tvalid || m_tready;
  assign s_tready = out_free && !extra_q;

  // Lanes used by the last input beat, and the FCS shifted into place.
  logic [3:0] n;
  logic [31:0] fcs;
  logic [127:0] merged;  // beat data followed by the FCS, as 16 lanes
  always_comb begin
    n = dvmm_pkg::keep_bytes(s_tkeep);
    fcs = ~crc_step;
    merged = {64'd0, s_tdata & {{8{s_tkeep[7]}}, {8{s_tkeep[6]}}, {8{s_tkeep[5]}},
                               {8{s_tkeep[4]}}, {8{s_tkeep[3]}}, {8{s_tkeep[2]}},
                               {8{s_tkeep[1]}}, {8{s_tkeep[0]}}}};
    merged = merged | ({96'd0, fcs} << (8 * n));
  end

  always_ff @(posedge clk) begin
    if (out_free) begin
      if (extra_q) begin
        m_tdata <= extra_data_q;
        m_tkeep <= extra_keep_q;
        m_tlast <= 1'b1;
        m_tvalid <= 1'b1;
        extra_q <= 1'b0;
      end else if (s_tvalid) begin
        m_tvalid <= 1'b1;
        if (!s_tlast) begin
          m_tdata <= s_tdata;
          m_tkeep <= s_tkeep;
          m_tlast <= 1'b0;
          crc_q <= crc_step;
        end else begin
          crc_q <= dvmm_pkg::CRC_INIT;
          m_tdata <= merged[63:0];
          if (n <= 4'd4) begin
            m_tkeep <= dvmm_pkg::keep_mask(n + 4'd4);
            m_tlast <= 1'b1;
          end else begin
            m_tkeep <= 8'hFF;
            m_tlast <= 1'b0;
            extra_data_q <= merged[127:64];
            extra_keep_q <= dvmm_pkg::keep_mask(n - 4'd4);
            extra_q <= 1'b1;
          end
        end
      end else begin
        m_tvalid <= 1'b0;
      end
    end
    if (rst) begin
      m_tvalid <= 1'b0;
      extra_q <= 1'b0;
      crc_q <= dvmm_pkg::CRC_INIT;
    end
  end

`ifndef SYNTHESIS
  // AXI-Stream: a beat offered must stay unchanged until taken.
  logic stalled_q;
  always_ff @(posedge clk) stalled_q <= !rst && m_tvalid && !m_tready;
  always_ff @(posedge clk)
    if (stalled_q && !rst) assert (m_tvalid) else $error("fcs_insert: m_tvalid dropped while stalled");
`endif
endmodule

`default_nettype wire
