// dvmm_tx_desc: takes host TX descriptors, finds their destinations and
// writes one dvmm message per destination into the retransmit ring of
// that destination's link, then gives it the link's next sequence number.
//
// Descriptors (AXI-Stream, 64-bit, lane 0 first; docs/fpga.md):
//   RAW  beat 0: [7:0] DESC_RAW, [31:16] dst_node
//        beats 1..: the encoded dvmm message (24-byte header + payload),
//        tlast on its last beat, tkeep full except on that beat. The engine
//        overwrites the fields the reliability layer owns: src_node,
//        dst_node, seq, ack and cluster_id (as ReliableLink::send does).
//   IPI  beat 0: [7:0] DESC_IPI, [15:8] vector, [23:16] delivery mode,
//                [31:24] flags (bit 0 logical, 1 level, 2 assert, 3 x2APIC),
//                [39:32] shorthand (0 none, 1 self, 2 all, 3 all but self)
//        beat 1: [31:0] destination, [63:32] source vCPU (-1: a device); tlast
// An IPI becomes one IPI message (IpiPayload) per target vCPU on another
// node, looked up in the APIC table: physical (one APIC ID, or all on
// broadcast 0xFF / 0xFFFFFFFF), logical (xAPIC flat model: LDR[31:24] &
// destination[7:0]; x2APIC: same cluster LDR[31:16] and LDR[15:0] &
// destination[15:0]), or a shorthand. Lowest-priority delivery goes to the
// first matching vCPU only. Targets on the local node are the host's own
// business and are skipped. Descriptors the receiver's codec would reject
// (message.cpp validate: SMI or reserved modes, unknown flags or shorthand,
// source vCPU < -1, raw messages outside 24..MAX_MSG_BYTES bytes, unknown
// or local destination node) are dropped and counted.
//
// A full window stalls the descriptor stream (s_desc_tready low) until an
// ack frees a slot.
`default_nettype none

module dvmm_tx_desc #(
    parameter int NODES = 4,            // destination nodes
    parameter int APICS = 16,           // APIC table entries
    parameter int WINDOW = 8,           // ring slots per link
    parameter int MAX_MSG_BYTES = 128,  // largest message, multiple of 8
    localparam int NODE_W = $clog2(NODES),
    localparam int APIC_W = $clog2(APICS),
    localparam int SLOT_W = $clog2(WINDOW),
    localparam int BEAT_W = $clog2(MAX_MSG_BYTES / 8),
    localparam int BUF_AW = NODE_W + SLOT_W + BEAT_W,
    localparam int LEN_AW = NODE_W + SLOT_W
) (
    input  wire logic              clk,
    input  wire logic              rst,
    input  wire logic [15:0]       local_node,
    input  wire logic [31:0]       cluster_id,
    // descriptors from the host
    input  wire logic [63:0]       s_desc_tdata,
    input  wire logic [7:0]        s_desc_tkeep,
    input  wire logic              s_desc_tlast,
    input  wire logic              s_desc_tvalid,
    output logic                   s_desc_tready,
    // node table: is a node's MAC programmed
    output logic      [NODE_W-1:0] node_idx,
    input  wire logic              node_valid,
    // APIC table
    output logic      [APIC_W-1:0] apic_idx,
    input  wire logic              apic_valid,
    input  wire logic [15:0]       apic_node,
    input  wire logic [31:0]       apic_vcpu,
    input  wire logic [31:0]       apic_ldr,
    // link state: sequence number allocation
    output logic      [NODE_W-1:0] alloc_node,
    input  wire logic              alloc_space,
    input  wire logic [31:0]       alloc_seq,
    input  wire logic [SLOT_W-1:0] alloc_slot,
    output logic                   alloc_commit,
    // retransmit ring writes: message words and message lengths
    output logic                   buf_wr_en,
    output logic      [BUF_AW-1:0] buf_wr_addr,
    output logic      [63:0]       buf_wr_data,
    output logic                   len_wr_en,
    output logic      [LEN_AW-1:0] len_wr_addr,
    output logic      [15:0]       len_wr_data,
    // events
    output logic                   ev_desc,
    output logic                   ev_bad_desc,
    output logic                   ev_no_target
);
  typedef enum logic [2:0] {
    S_IDLE,      // waiting for a descriptor's first beat
    S_RAW_WAIT,  // raw message: waiting for window space on its link
    S_RAW_DATA,  // raw message: copying its beats into the ring
    S_DROP,      // discarding the rest of a bad descriptor
    S_IPI_B1,    // IPI: waiting for the second beat
    S_SCAN,      // IPI: testing one APIC table entry per cycle
    S_IPI_WRITE  // IPI: writing the message for one target
  } state_t;
  state_t state_q;

  localparam int MAX_BEATS = MAX_MSG_BYTES / 8;

  // Descriptor fields held while the descriptor is processed.
  logic [15:0] dst_q;           // raw: destination node
  logic [BEAT_W:0] beat_q;      // raw: next message beat; IPI: beat being written
  logic [7:0] vector_q, mode_q, flags_q, shorthand_q;
  logic [31:0] dest_q, src_vcpu_q;
  logic [APIC_W-1:0] idx_q, last_q;
  logic found_q;
  logic [15:0] tgt_node_q;
  logic [31:0] tgt_vcpu_q;

  logic take;
  assign take = s_desc_tvalid && s_desc_tready;

  always_comb begin
    unique case (state_q)
      S_IDLE, S_RAW_DATA, S_DROP, S_IPI_B1: s_desc_tready = 1'b1;
      default: s_desc_tready = 1'b0;
    endcase
  end

  // ---- the table lookups of the current state ----
  logic [15:0] first_dst;  // raw destination in beat 0
  assign first_dst = s_desc_tdata[31:16];
  always_comb begin
    apic_idx = idx_q;
    if (state_q == S_SCAN) node_idx = apic_node[NODE_W-1:0];
    else node_idx = first_dst[NODE_W-1:0];
    alloc_node = (state_q == S_IPI_WRITE) ? tgt_node_q[NODE_W-1:0] : dst_q[NODE_W-1:0];
  end

  // A raw descriptor's destination: a known node other than this one.
  logic raw_dst_ok;
  assign raw_dst_ok = {16'd0, first_dst} < NODES && first_dst != local_node && node_valid;

  // ---- IPI descriptor checks (message.cpp validate(IpiPayload)) ----
  logic ipi_ok;
  always_comb begin
    ipi_ok = mode_q != 8'd2 && mode_q != 8'd3 && mode_q <= 8'd7 &&
             (flags_q & ~dvmm_pkg::IPI_FLAG_MASK) == 8'd0 &&
             shorthand_q <= dvmm_pkg::SHORTHAND_ALL_BUT_SELF &&
             !(s_desc_tdata[63] && s_desc_tdata[63:32] != 32'hFFFF_FFFF);
  end
  logic x2apic, logical, bcast;
  always_comb begin
    x2apic = flags_q[dvmm_pkg::IPI_FLAG_X2APIC];
    logical = flags_q[dvmm_pkg::IPI_FLAG_LOGICAL];
    bcast = x2apic ? dest_q == 32'hFFFF_FFFF : dest_q[7:0] == 8'hFF;
  end

  // Does APIC table entry idx_q receive this IPI (on another node)?
  logic entry_match, entry_remote;
  always_comb begin
    entry_remote = apic_valid && {16'd0, apic_node} < NODES && apic_node != local_node &&
                   node_valid;
    unique case (shorthand_q)
      dvmm_pkg::SHORTHAND_ALL: entry_match = 1'b1;
      dvmm_pkg::SHORTHAND_ALL_BUT_SELF: entry_match = apic_vcpu != src_vcpu_q;
      dvmm_pkg::SHORTHAND_SELF: entry_match = 1'b0;
      default: begin
        if (logical)
          entry_match = x2apic ? (apic_ldr[31:16] == dest_q[31:16] &&
                                  (apic_ldr[15:0] & dest_q[15:0]) != 16'd0)
                               : (apic_ldr[31:24] & dest_q[7:0]) != 8'd0;
        else
          entry_match = bcast || {{(32 - APIC_W){1'b0}}, idx_q} == dest_q;
      end
    endcase
    entry_match = entry_match && entry_remote;
  end

  // ---- the message words ----
  logic [63:0] raw_word, ipi_word;
  always_comb begin
    // Raw: the reliability layer's fields replaced, the rest as given.
    raw_word = s_desc_tdata;
    if (beat_q == 0) raw_word[63:32] = {dst_q, local_node};
    if (beat_q == 1) raw_word = {32'd0, alloc_seq};  // ack: filled in by the framer
    if (beat_q == 2) raw_word[31:0] = cluster_id;
    unique case (beat_q[2:0])
      3'd0: ipi_word = {tgt_node_q, local_node, 8'd0, dvmm_pkg::TYPE_IPI, dvmm_pkg::WIRE_VERSION,
                        dvmm_pkg::WIRE_MAGIC};
      3'd1: ipi_word = {32'd0, alloc_seq};
      3'd2: ipi_word = {16'd0, 16'(dvmm_pkg::IPI_PAYLOAD_BYTES), cluster_id};
      3'd3: ipi_word = {shorthand_q, flags_q, mode_q, vector_q, tgt_vcpu_q};
      3'd4: ipi_word = {src_vcpu_q, dest_q};
      default: ipi_word = 64'd0;  // reserved u32, then nothing
    endcase
  end

  logic [3:0] nbytes;
  assign nbytes = dvmm_pkg::keep_bytes(s_desc_tkeep);
  logic [BEAT_W+3:0] raw_len;  // bytes of the raw message once this beat is in
  assign raw_len = {beat_q, 3'd0} + {{BEAT_W{1'b0}}, nbytes};

  always_comb begin
    buf_wr_en = 1'b0;
    buf_wr_data = raw_word;
    buf_wr_addr = {alloc_node, alloc_slot, beat_q[BEAT_W-1:0]};
    len_wr_en = 1'b0;
    len_wr_addr = {alloc_node, alloc_slot};
    len_wr_data = 16'(raw_len);
    alloc_commit = 1'b0;
    if (state_q == S_RAW_DATA && take && beat_q < (BEAT_W + 1)'(MAX_BEATS)) begin
      buf_wr_en = 1'b1;
      if (s_desc_tlast && raw_len >= (BEAT_W + 4)'(dvmm_pkg::HEADER_BYTES)) begin
        len_wr_en = 1'b1;
        alloc_commit = 1'b1;
      end
    end
    if (state_q == S_IPI_WRITE && (beat_q != 0 || alloc_space)) begin
      buf_wr_en = 1'b1;
      buf_wr_data = ipi_word;
      if (beat_q == (BEAT_W + 1)'((dvmm_pkg::IPI_MSG_BYTES + 7) / 8 - 1)) begin
        len_wr_en = 1'b1;
        len_wr_data = 16'(dvmm_pkg::IPI_MSG_BYTES);
        alloc_commit = 1'b1;
      end
    end
  end

  always_ff @(posedge clk) begin
    ev_desc <= 1'b0;
    ev_bad_desc <= 1'b0;
    ev_no_target <= 1'b0;
    unique case (state_q)
      S_IDLE: begin
        if (take) begin
          ev_desc <= 1'b1;
          beat_q <= '0;
          if (s_desc_tdata[7:0] == dvmm_pkg::DESC_RAW && !s_desc_tlast && raw_dst_ok) begin
            dst_q <= first_dst;
            state_q <= S_RAW_WAIT;
          end else if (s_desc_tdata[7:0] == dvmm_pkg::DESC_IPI && !s_desc_tlast) begin
            vector_q <= s_desc_tdata[15:8];
            mode_q <= s_desc_tdata[23:16];
            flags_q <= s_desc_tdata[31:24];
            shorthand_q <= s_desc_tdata[39:32];
            state_q <= S_IPI_B1;
          end else begin
            ev_bad_desc <= 1'b1;
            if (!s_desc_tlast) state_q <= S_DROP;
          end
        end
      end
      S_RAW_WAIT: if (alloc_space) state_q <= S_RAW_DATA;
      S_RAW_DATA: begin
        if (take) begin
          beat_q <= beat_q + 1'b1;
          if (beat_q >= (BEAT_W + 1)'(MAX_BEATS) ||
              (!s_desc_tlast && s_desc_tkeep != 8'hFF)) begin
            // Too long, or a hole before the end: nothing was given out.
            ev_bad_desc <= 1'b1;
            state_q <= s_desc_tlast ? S_IDLE : S_DROP;
          end else if (s_desc_tlast) begin
            if (raw_len < (BEAT_W + 4)'(dvmm_pkg::HEADER_BYTES)) ev_bad_desc <= 1'b1;
            state_q <= S_IDLE;
          end
        end
      end
      S_DROP: if (take && s_desc_tlast) state_q <= S_IDLE;
      S_IPI_B1: begin
        if (take) begin
          dest_q <= s_desc_tdata[31:0];
          src_vcpu_q <= s_desc_tdata[63:32];
          found_q <= 1'b0;
          if (!s_desc_tlast || !ipi_ok) begin
            ev_bad_desc <= 1'b1;
            state_q <= s_desc_tlast ? S_IDLE : S_DROP;
          end else if (shorthand_q == dvmm_pkg::SHORTHAND_SELF) begin
            ev_no_target <= 1'b1;  // the sender's own vCPU is local
            state_q <= S_IDLE;
          end else if (shorthand_q == dvmm_pkg::SHORTHAND_NONE && !flags_q[0] &&
                       !(flags_q[3] ? s_desc_tdata[31:0] == 32'hFFFF_FFFF
                                    : s_desc_tdata[7:0] == 8'hFF)) begin
            // Physical unicast: just the one entry.
            if (s_desc_tdata[31:0] < APICS) begin
              idx_q <= s_desc_tdata[APIC_W-1:0];
              last_q <= s_desc_tdata[APIC_W-1:0];
              state_q <= S_SCAN;
            end else begin
              ev_no_target <= 1'b1;
              state_q <= S_IDLE;
            end
          end else begin
            idx_q <= '0;
            last_q <= APIC_W'(APICS - 1);
            state_q <= S_SCAN;
          end
        end
      end
      S_SCAN: begin
        if (entry_match) begin
          tgt_node_q <= apic_node;
          tgt_vcpu_q <= apic_vcpu;
          beat_q <= '0;
          state_q <= S_IPI_WRITE;
        end else if (idx_q == last_q) begin
          if (!found_q) ev_no_target <= 1'b1;
          state_q <= S_IDLE;
        end else begin
          idx_q <= idx_q + 1'b1;
        end
      end
      S_IPI_WRITE: begin
        if (buf_wr_en) beat_q <= beat_q + 1'b1;
        if (alloc_commit) begin
          found_q <= 1'b1;
          if (idx_q == last_q || mode_q == dvmm_pkg::MODE_LOWEST_PRIORITY) begin
            state_q <= S_IDLE;
          end else begin
            idx_q <= idx_q + 1'b1;
            state_q <= S_SCAN;
          end
        end
      end
      default: state_q <= S_IDLE;
    endcase
    if (rst) begin
      state_q <= S_IDLE;
      ev_desc <= 1'b0;
      ev_bad_desc <= 1'b0;
      ev_no_target <= 1'b0;
    end
  end

`ifndef SYNTHESIS
  initial begin
    if (MAX_MSG_BYTES % 8 != 0 || MAX_MSG_BYTES < 64 || (1 << BEAT_W) != MAX_MSG_BYTES / 8)
      $fatal(1, "dvmm_tx_desc: MAX_MSG_BYTES must be a power of 2 >= 64");
  end
`endif
endmodule

`default_nettype wire
