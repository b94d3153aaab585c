// dvmm_fcs_check: checks and strips the Ethernet FCS of each AXI-Stream
// frame. The output frame lacks the last four bytes; its last beat carries
// m_tuser = 1 when the CRC over the whole frame (FCS included) does not
// leave dvmm_pkg::CRC_RESIDUE, or when the frame had no data before its
// FCS (then the last beat is empty: tkeep = 0).
//
// Input tkeep must be contiguous from lane 0 (only the last beat partial).
// Because the FCS may straddle the last two beats, one beat is held back
// until the next arrives; a second cycle is needed only when the last input
// beat still carries data after trimming.
`default_nettype none

module dvmm_fcs_check (
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
    output logic             m_tuser,   // on the last beat: FCS bad
    output logic             m_tvalid,
    input  wire logic        m_tready
);
  logic [31:0] crc_q, crc_step;
  dvmm_crc32 u_crc (.crc_in(crc_q), .data(s_tdata), .keep(s_tkeep), .crc_out(crc_step));

  // The held beat (not yet known to be free of FCS bytes).
  logic hold_q;
  logic [63:0] hold_data_q;
  logic [7:0] hold_keep_q;
  // The held beat is the trimmed last beat of a frame, ready to go out.
  logic hold_final_q;
  logic hold_bad_q;

  logic out_free;
  assign out_free = !m_tvalid || m_tready;
  assign s_tready = out_free && !hold_final_q;

  logic [3:0] n;
  logic bad;
  always_comb begin
    n = dvmm_pkg::keep_bytes(s_tkeep);
    bad = crc_step != dvmm_pkg::CRC_RESIDUE;
  end

  always_ff @(posedge clk) begin
    if (out_free) m_tvalid <= 1'b0;
    if (out_free && hold_final_q) begin
      m_tdata <= hold_data_q;
      m_tkeep <= hold_keep_q;
      m_tlast <= 1'b1;
      m_tuser <= hold_bad_q;
      m_tvalid <= 1'b1;
      hold_q <= 1'b0;
      hold_final_q <= 1'b0;
    end else if (s_tvalid && s_tready) begin
      if (!s_tlast) begin
        crc_q <= crc_step;
        // The held beat had no FCS bytes: pass it on, hold the new one.
        if (hold_q) begin
          m_tdata <= hold_data_q;
          m_tkeep <= hold_keep_q;
          m_tlast <= 1'b0;
          m_tuser <= 1'b0;
          m_tvalid <= 1'b1;
        end
        hold_q <= 1'b1;
        hold_data_q <= s_tdata;
        hold_keep_q <= s_tkeep;
      end else begin
        crc_q <= dvmm_pkg::CRC_INIT;
        if (n > 4'd4) begin
          // The FCS is all in this beat: the held beat goes out whole, and
          // this one, trimmed, after it.
          if (hold_q) begin
            m_tdata <= hold_data_q;
            m_tkeep <= hold_keep_q;
            m_tlast <= 1'b0;
            m_tuser <= 1'b0;
            m_tvalid <= 1'b1;
          end
          hold_q <= 1'b1;
          hold_final_q <= 1'b1;
          hold_bad_q <= bad;
          hold_data_q <= s_tdata;
          hold_keep_q <= dvmm_pkg::keep_mask(n - 4'd4);
        end else begin
          // The held beat ends the frame; 4 - n of its bytes were FCS.
          m_tdata <= hold_q ? hold_data_q : 64'd0;
          m_tkeep <= hold_q ? dvmm_pkg::keep_mask(n + 4'd4) : 8'h00;
          m_tlast <= 1'b1;
          m_tuser <= bad || !hold_q;
          m_tvalid <= 1'b1;
          hold_q <= 1'b0;
        end
      end
    end
    if (rst) begin
      m_tvalid <= 1'b0;
      hold_q <= 1'b0;
      hold_final_q <= 1'b0;
      crc_q <= dvmm_pkg::CRC_INIT;
    end
  end

`ifndef SYNTHESIS
  logic stalled_q;
  always_ff @(posedge clk) stalled_q <= !rst && m_tvalid && !m_tready;
  always_ff @(posedge clk)
    if (stalled_q && !rst) assert (m_tvalid) else $error("fcs_check: m_tvalid dropped while stalled");
`endif
endmodule

`default_nettype wire
