// dvmm_rx: the receive path after the FCS checker. Parses each frame as it
// arrives (the encapsulation of dataplane/dpdk/frame.hpp, the header of
// dataplane/message.hpp), copies the dvmm message into the host receive
// queue speculatively, and at the frame's end decides, in this order:
//   FCS bad                                            drop (RX_BAD_FCS)
//   shorter than the 16-byte encapsulation              drop (RX_MALFORMED)
//   EtherType not 0x88B5                               drop (RX_ETHERTYPE)
//   destination MAC not the local MAC                  drop (RX_DST_MAC)
//   length field beyond the bytes received, below 24 or
//     above MAX_MSG_BYTES; magic, version, reserved,
//     payload_len (= length - 24) or flags wrong          drop (RX_MALFORMED)
//   cluster id not ours                                drop (RX_CLUSTER)
//   source node unknown or ours, destination not ours   drop (RX_MALFORMED)
//   ACK-only (type kAck, flag kFlagAckOnly, seq 0, no payload; anything
//     half of that is malformed): its ack frees the sender's window (RX_ACK)
//   data: its piggybacked ack frees the window; then the sequence check:
//     seq behind the expected                           drop (RX_DUPLICATE), ack at once
//     seq ahead of it                                   drop (RX_OUT_OF_ORDER), ack at once
//     the expected seq:
//       an IPI for the fast path: fixed or lowest-priority, edge-triggered,
//       valid flags, target vCPU below BITMAP_VCPUS   pending bitmap (RX_IPI)
//       anything else                                  host queue (RX_HOST)
//       ... unless the queue had no room for it        drop (RX_QUEUE_FULL), not acked
// A frame dropped for want of queue room is not acknowledged, so the
// sender's go-back-N delivers it again later: the queue never loses an
// in-order message.
//
// Ordering: the fast path makes an IPI visible in the bitmap before
// messages that preceded it may have been read from the queue; the host
// treats the bitmap like the software path's interrupt injection, which
// carries no ordering with other message types either.
`default_nettype none

module dvmm_rx #(
    parameter int NODES = 4,
    parameter int MAX_MSG_BYTES = 128,
    parameter int RXQ_BEATS = 256,
    localparam int NODE_W = $clog2(NODES),
    localparam int QW = $clog2(RXQ_BEATS)
) (
    input  wire logic              clk,
    input  wire logic              rst,
    input  wire logic [15:0]       local_node,
    input  wire logic [47:0]       local_mac,
    input  wire logic [31:0]       cluster_id,
    input  wire logic [31:0]       bitmap_vcpus,
    // frames from the FCS checker (tuser on the last beat: FCS bad)
    input  wire logic [63:0]       s_tdata,
    input  wire logic [7:0]        s_tkeep,
    input  wire logic              s_tlast,
    input  wire logic              s_tuser,
    input  wire logic              s_tvalid,
    output logic                   s_tready,
    // link state: sequence check and received acks
    output logic      [NODE_W-1:0] rx_node,
    input  wire logic [31:0]       rx_expected,
    output logic                   rx_accept,
    output logic                   rx_reject,
    output logic                   ack_valid,
    output logic      [NODE_W-1:0] ack_node,
    output logic      [31:0]       ack_value,
    // host receive queue
    output logic                   q_wr_en,
    output logic      [63:0]       q_wr_data,
    output logic      [7:0]        q_wr_keep,
    output logic                   q_wr_last,
    output logic                   q_commit,
    output logic                   q_rollback,
    input  wire logic [QW:0]       q_free,
    // IPI fast path
    output logic                   ipi_valid,
    input  wire logic              ipi_ready,
    output logic      [31:0]       ipi_vcpu,
    output logic      [7:0]        ipi_vector,
    // events (one-cycle pulses)
    output logic                   ev_frame,
    output logic                   ev_host,
    output logic                   ev_ipi,
    output logic                   ev_ack,
    output logic                   ev_bad_fcs,
    output logic                   ev_ethertype,
    output logic                   ev_dst_mac,
    output logic                   ev_cluster,
    output logic                   ev_malformed,
    output logic                   ev_duplicate,
    output logic                   ev_out_of_order,
    output logic                   ev_queue_full
);
  // ---- fields latched as the frame goes by ----
  logic [11:0] beat_q;        // beats received (saturates)
  logic [15:0] bytes_q;       // bytes received (saturates)
  logic [47:0] dst_mac_q;
  logic [15:0] ethertype_q, len_q;
  logic [7:0] magic_q, version_q, type_q, flags_q;
  logic [15:0] src_node_q, dst_node_q;
  logic [31:0] seq_q, ack_q, cluster_q;
  logic [15:0] payload_len_q, reserved_q;
  logic [31:0] tgt_vcpu_q;
  logic [7:0] vector_q, mode_q, ipi_flags_q;
  logic room_q;               // the message fits the queue (decided at beat 1)
  logic bad_fcs_q;
  logic decide_q;             // the whole frame is in: decide this cycle

  assign s_tready = !decide_q;
  logic take;
  assign take = s_tvalid && s_tready;

  // ---- speculative copy of the message into the queue ----
  logic [15:0] msg_off;      // message offset of this beat's lane 0
  logic [15:0] remaining;
  logic [15:0] len_now;      // length field, from this beat when it is beat 1
  logic room_now;
  always_comb begin
    msg_off = {beat_q[11:0], 3'd0} - 16'd16;
    remaining = len_q - msg_off;
    len_now = {s_tdata[55:48], s_tdata[63:56]};
    room_now = len_now <= 16'(MAX_MSG_BYTES) &&
               {{(16 - QW - 1){1'b0}}, q_free} >= ((len_now + 16'd7) >> 3);
    q_wr_en = take && beat_q >= 12'd2 && beat_q != 12'hFFF && msg_off < len_q && room_q;
    q_wr_data = s_tdata;
    q_wr_keep = remaining >= 16'd8 ? 8'hFF : dvmm_pkg::keep_mask(remaining[3:0]);
    q_wr_last = remaining <= 16'd8;
  end

  always_ff @(posedge clk) begin
    decide_q <= 1'b0;
    if (take) begin
      if (beat_q != 12'hFFF) beat_q <= beat_q + 1'b1;
      if (bytes_q < 16'hFFF0) bytes_q <= bytes_q + {12'd0, dvmm_pkg::keep_bytes(s_tkeep)};
      unique case (beat_q)
        12'd0: dst_mac_q <= s_tdata[47:0];
        12'd1: begin
          ethertype_q <= {s_tdata[39:32], s_tdata[47:40]};
          len_q <= len_now;
          room_q <= room_now;
        end
        12'd2: {dst_node_q, src_node_q, flags_q, type_q, version_q, magic_q} <= s_tdata;
        12'd3: {ack_q, seq_q} <= s_tdata;
        12'd4: {reserved_q, payload_len_q, cluster_q} <= s_tdata;
        12'd5: {ipi_flags_q, mode_q, vector_q, tgt_vcpu_q} <= s_tdata[55:0];
        default: ;
      endcase
      if (s_tlast) begin
        bad_fcs_q <= s_tuser;
        decide_q <= 1'b1;
      end
    end
    // A new frame starts after the decision.
    if (decide_q && !(ipi_valid && !ipi_ready)) begin
      beat_q <= '0;
      bytes_q <= '0;
    end else if (decide_q) begin
      decide_q <= 1'b1;  // wait for the DMA request to be taken
    end
    if (rst) begin
      beat_q <= '0;
      bytes_q <= '0;
      decide_q <= 1'b0;
      bad_fcs_q <= 1'b0;
      room_q <= 1'b0;
    end
  end

  // ---- the decision ----
  logic short_frame, header_bad, node_bad, is_ack, ack_frame_ok, data_ok;
  logic seq_ok, fast_ipi;
  logic [31:0] seq_ahead;
  always_comb begin
    short_frame = bytes_q < 16'(dvmm_pkg::ENCAP_HEADER_BYTES);
    header_bad = len_q > 16'(MAX_MSG_BYTES) || len_q < 16'(dvmm_pkg::HEADER_BYTES) ||
                 bytes_q < len_q + 16'(dvmm_pkg::ENCAP_HEADER_BYTES) ||
                 magic_q != dvmm_pkg::WIRE_MAGIC || version_q != dvmm_pkg::WIRE_VERSION ||
                 reserved_q != 16'd0 ||
                 payload_len_q != len_q - 16'(dvmm_pkg::HEADER_BYTES);
    node_bad = {16'd0, src_node_q} >= NODES || src_node_q == local_node ||
               dst_node_q != local_node;
    is_ack = type_q == dvmm_pkg::TYPE_ACK;
    ack_frame_ok = flags_q == dvmm_pkg::FLAG_ACK_ONLY && seq_q == 32'd0 && payload_len_q == 16'd0;
    data_ok = flags_q == 8'd0 && seq_q != 32'd0 && type_q > dvmm_pkg::TYPE_ACK &&
              type_q <= 8'd15;
    seq_ok = seq_q == rx_expected;
    // Distance from the expected to the received: less than half the space
    // is ahead (a gap), the rest behind (a duplicate).
    seq_ahead = dvmm_pkg::seq_dist(rx_expected, seq_q);
    fast_ipi = type_q == dvmm_pkg::TYPE_IPI &&
               payload_len_q == 16'(dvmm_pkg::IPI_PAYLOAD_BYTES) &&
               (mode_q == dvmm_pkg::MODE_FIXED || mode_q == dvmm_pkg::MODE_LOWEST_PRIORITY) &&
               !ipi_flags_q[dvmm_pkg::IPI_FLAG_LEVEL] &&
               (ipi_flags_q & ~dvmm_pkg::IPI_FLAG_MASK) == 8'd0 && tgt_vcpu_q < bitmap_vcpus;

    rx_node = src_node_q[NODE_W-1:0];
    ack_node = src_node_q[NODE_W-1:0];
    ack_value = ack_q;
    ipi_vcpu = tgt_vcpu_q;
    ipi_vector = vector_q;

    {ev_bad_fcs, ev_malformed, ev_ethertype, ev_dst_mac, ev_cluster} = '0;
    {ev_ack, ev_duplicate, ev_out_of_order, ev_ipi, ev_host, ev_queue_full} = '0;
    {rx_accept, rx_reject, ack_valid, ipi_valid, q_commit, q_rollback} = '0;
    ev_frame = decide_q;
    if (decide_q) begin
      q_rollback = 1'b1;  // unless committed below
      if (bad_fcs_q) ev_bad_fcs = 1'b1;
      else if (short_frame) ev_malformed = 1'b1;
      else if (ethertype_q != dvmm_pkg::ETHERTYPE) ev_ethertype = 1'b1;
      else if (dst_mac_q != local_mac) ev_dst_mac = 1'b1;
      else if (header_bad) ev_malformed = 1'b1;
      else if (cluster_q != cluster_id) ev_cluster = 1'b1;
      else if (node_bad) ev_malformed = 1'b1;
      else if (is_ack) begin
        if (ack_frame_ok) begin
          ev_ack = 1'b1;
          ack_valid = 1'b1;
        end else begin
          ev_malformed = 1'b1;
        end
      end else if (!data_ok) begin
        ev_malformed = 1'b1;
      end else begin
        ack_valid = 1'b1;
        if (!seq_ok) begin
          rx_reject = 1'b1;
          if (seq_ahead < 32'h8000_0000) ev_out_of_order = 1'b1;
          else ev_duplicate = 1'b1;
        end else if (fast_ipi) begin
          ipi_valid = 1'b1;
          if (ipi_ready) begin
            rx_accept = 1'b1;
            ev_ipi = 1'b1;
          end else begin
            // Decide again next cycle; nothing may change state meanwhile.
            ack_valid = 1'b0;
            q_rollback = 1'b0;
            ev_frame = 1'b0;
          end
        end else if (room_q) begin
          rx_accept = 1'b1;
          ev_host = 1'b1;
          q_commit = 1'b1;
          q_rollback = 1'b0;
        end else begin
          ev_queue_full = 1'b1;
        end
      end
    end
  end
endmodule

`default_nettype wire
