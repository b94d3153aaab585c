// dvmm_tx_framer: turns the scheduler's choice into an Ethernet frame
// (without FCS), byte for byte as dataplane/dpdk/frame.cpp encode_frame
// builds it:
//   beat 0  dst MAC (lanes 0-5), src MAC bytes 0-1
//   beat 1  src MAC bytes 2-5, EtherType 0x88B5 and the dvmm length, both
//           big-endian
//   beat 2+ the dvmm message: for data, the words in the retransmit ring
//           with seq and ack (beat 3) filled in now, so every
//           retransmission carries the current cumulative ack; for an ACK,
//           a 24-byte header (type kAck, flags kFlagAckOnly, seq 0)
//   then zero padding up to 60 bytes. Bytes past the message are forced to
//   zero, so stale ring contents never reach the wire.
//
// The ring is read with a registered read: the address of the beat that
// will be on the output next cycle is presented every cycle, so the output
// is one beat per cycle with no bubble.
`default_nettype none

module dvmm_tx_framer #(
    parameter int NODES = 4,
    parameter int WINDOW = 8,
    parameter int MAX_MSG_BYTES = 128,
    localparam int NODE_W = $clog2(NODES),
    localparam int SLOT_W = $clog2(WINDOW),
    localparam int BEAT_W = $clog2(MAX_MSG_BYTES / 8),
    localparam int BUF_AW = NODE_W + SLOT_W + BEAT_W,
    localparam int LEN_AW = NODE_W + SLOT_W
) (
    input  wire logic              clk,
    input  wire logic              rst,
    input  wire logic [15:0]       local_node,
    input  wire logic [47:0]       local_mac,
    input  wire logic [31:0]       cluster_id,
    // scheduler
    input  wire logic              sched_valid,
    input  wire logic [NODE_W-1:0] sched_node,
    input  wire logic              sched_ack_only,
    input  wire logic [31:0]       sched_seq,
    input  wire logic [SLOT_W-1:0] sched_slot,
    input  wire logic [31:0]       sched_ack,
    output logic                   sched_take,
    // node table: the destination's MAC
    output logic      [NODE_W-1:0] node_idx,
    input  wire logic [47:0]       node_mac,
    // retransmit ring
    output logic      [BUF_AW-1:0] buf_rd_addr,
    input  wire logic [63:0]       buf_rd_data,   // one cycle after buf_rd_addr
    output logic      [LEN_AW-1:0] len_rd_addr,
    input  wire logic [15:0]       len_rd_data,   // same cycle
    // frame out (no FCS)
    output logic      [63:0]       m_tdata,
    output logic      [7:0]        m_tkeep,
    output logic                   m_tlast,
    output logic                   m_tvalid,
    input  wire logic              m_tready,
    // events
    output logic                   ev_data,
    output logic                   ev_ack
);
  logic busy_q;
  logic [NODE_W-1:0] node_q;
  logic [SLOT_W-1:0] slot_q;
  logic ack_only_q;
  logic [31:0] seq_q, ack_q;
  logic [47:0] mac_q;
  logic [15:0] len_q;          // dvmm message bytes
  logic [2:0] end_lanes_q;     // frame bytes without FCS (>= 60), mod 8
  logic [12:0] last_beat_q;
  logic [12:0] cur_q;          // beat on the output

  assign sched_take = sched_valid && !busy_q;
  assign node_idx = sched_node;
  assign len_rd_addr = {sched_node, sched_slot};

  logic [15:0] take_len, take_end;
  always_comb begin
    take_len = sched_ack_only ? 16'(dvmm_pkg::HEADER_BYTES) : len_rd_data;
    take_end = take_len + 16'(dvmm_pkg::ENCAP_HEADER_BYTES);
    if (take_end < 16'(dvmm_pkg::ETH_MIN_FRAME)) take_end = 16'(dvmm_pkg::ETH_MIN_FRAME);
  end

  logic advance;
  assign advance = m_tvalid && m_tready;

  // Ring address of the beat that is on the output next cycle.
  logic [12:0] cur_next;
  logic [BEAT_W-1:0] msg_next;
  always_comb begin
    cur_next = advance ? cur_q + 1'b1 : cur_q;
    msg_next = cur_next >= 13'd2 ? BEAT_W'(cur_next - 13'd2) : '0;
    if (sched_take) buf_rd_addr = {sched_node, sched_slot, {BEAT_W{1'b0}}};
    else buf_rd_addr = {node_q, slot_q, msg_next};
  end

  // ---- the beat on the output ----
  logic [12:0] msg_beat;
  logic [63:0] word;
  logic [15:0] off;  // frame offset of lane 0
  always_comb begin
    msg_beat = cur_q - 13'd2;
    if (cur_q == 13'd0) begin
      word = {local_mac[15:0], mac_q};
    end else if (cur_q == 13'd1) begin
      word = {len_q[7:0], len_q[15:8], dvmm_pkg::ETHERTYPE[7:0], dvmm_pkg::ETHERTYPE[15:8],
              local_mac[47:16]};
    end else if (ack_only_q) begin
      unique case (msg_beat)
        13'd0: word = {{(16 - NODE_W){1'b0}}, node_q, local_node, dvmm_pkg::FLAG_ACK_ONLY,
                       dvmm_pkg::TYPE_ACK, dvmm_pkg::WIRE_VERSION, dvmm_pkg::WIRE_MAGIC};
        13'd1: word = {ack_q, 32'd0};
        13'd2: word = {32'd0, cluster_id};
        default: word = 64'd0;
      endcase
    end else if (msg_beat == 13'd1) begin
      word = {ack_q, seq_q};
    end else begin
      word = buf_rd_data;
    end
    off = {cur_q[12:0], 3'd0};
    for (int lane = 0; lane < 8; lane++) begin
      if (off + 16'(lane) >= len_q + 16'(dvmm_pkg::ENCAP_HEADER_BYTES)) word[8*lane+:8] = 8'd0;
    end
    m_tdata = word;
    m_tvalid = busy_q;
    m_tlast = cur_q == last_beat_q;
    m_tkeep = m_tlast ? dvmm_pkg::keep_mask(end_lanes_q == 3'd0 ? 4'd8 : {1'b0, end_lanes_q})
                      : 8'hFF;
  end

  always_ff @(posedge clk) begin
    ev_data <= 1'b0;
    ev_ack <= 1'b0;
    if (advance) begin
      cur_q <= cur_q + 1'b1;
      if (m_tlast) busy_q <= 1'b0;
    end
    if (sched_take) begin
      busy_q <= 1'b1;
      node_q <= sched_node;
      slot_q <= sched_slot;
      ack_only_q <= sched_ack_only;
      seq_q <= sched_seq;
      ack_q <= sched_ack;
      mac_q <= node_mac;
      len_q <= take_len;
      end_lanes_q <= take_end[2:0];
      last_beat_q <= 13'((take_end - 16'd1) >> 3);
      cur_q <= '0;
      ev_data <= !sched_ack_only;
      ev_ack <= sched_ack_only;
    end
    if (rst) begin
      busy_q <= 1'b0;
      ev_data <= 1'b0;
      ev_ack <= 1'b0;
    end
  end
endmodule

`default_nettype wire
