// dvmm_engine: the dvmm FPGA offload engine (docs/fpga.md). It sits
// between the host and an Ethernet MAC and runs the dvmm reliability
// protocol (dataplane/reliable_link.hpp) in hardware:
//
//   s_desc --> tx_desc --> retransmit ring --> tx_framer --> fcs_insert --> m_tx
//                 |   (APIC/node tables)          ^
//                 +------> link_state <-----------+ (schedule, seq, ack)
//                              ^
//   s_rx --> fcs_check --> rx --+--> rx_queue --> m_host
//                               +--> ipi_dma  --> m_dma (pending bitmaps)
//   s_axil <--> regs (configuration, tables, counters, host-ring registers)
//
// All AXI-Stream ports are 64-bit with byte lane 0 first on the wire;
// m_tx/s_rx carry whole Ethernet frames including the FCS (a MAC without
// FCS handling). Clearing CONTROL.enable holds everything but the register
// file in reset.
//
// The host side is three streams (s_desc, m_host, m_dma). A card whose shell
// has no streaming DMA puts them in host memory with dvmm_host_rings
// (dvmm_card_top): the ring registers live in this engine's register file
// and leave through the ring ports; attached directly (tb_engine), those
// ports are left open and their inputs tied to 0.
`default_nettype none

module dvmm_engine #(
    parameter int NODES = 4,            // nodes in the cluster (link state per node)
    parameter int APICS = 16,           // APIC IDs in the destination table
    parameter int WINDOW = 8,           // unacknowledged messages per link, power of 2
    parameter int MAX_MSG_BYTES = 128,  // largest dvmm message, power of 2 >= 64
    parameter int RXQ_BEATS = 256,      // host receive queue, 64-bit beats, power of 2
    // First sequence number of every link (all nodes alike); tests start
    // near 2^32 to cover the wrap.
    parameter logic [31:0] FIRST_SEQ = 32'd1
) (
    input  wire logic        clk,
    input  wire logic        rst,
    // AXI-Lite register file
    input  wire logic [13:0] s_axil_awaddr,
    input  wire logic        s_axil_awvalid,
    output logic             s_axil_awready,
    input  wire logic [31:0] s_axil_wdata,
    input  wire logic [3:0]  s_axil_wstrb,
    input  wire logic        s_axil_wvalid,
    output logic             s_axil_wready,
    output logic      [1:0]  s_axil_bresp,
    output logic             s_axil_bvalid,
    input  wire logic        s_axil_bready,
    input  wire logic [13:0] s_axil_araddr,
    input  wire logic        s_axil_arvalid,
    output logic             s_axil_arready,
    output logic      [31:0] s_axil_rdata,
    output logic      [1:0]  s_axil_rresp,
    output logic             s_axil_rvalid,
    input  wire logic        s_axil_rready,
    // TX descriptors from the host
    input  wire logic [63:0] s_desc_tdata,
    input  wire logic [7:0]  s_desc_tkeep,
    input  wire logic        s_desc_tlast,
    input  wire logic        s_desc_tvalid,
    output logic             s_desc_tready,
    // Ethernet frames to the wire (FCS included)
    output logic      [63:0] m_tx_tdata,
    output logic      [7:0]  m_tx_tkeep,
    output logic             m_tx_tlast,
    output logic             m_tx_tvalid,
    input  wire logic        m_tx_tready,
    // Ethernet frames from the wire (FCS included)
    input  wire logic [63:0] s_rx_tdata,
    input  wire logic [7:0]  s_rx_tkeep,
    input  wire logic        s_rx_tlast,
    input  wire logic        s_rx_tvalid,
    output logic             s_rx_tready,
    // received messages for the host (one dvmm message per packet)
    output logic      [63:0] m_host_tdata,
    output logic      [7:0]  m_host_tkeep,
    output logic             m_host_tlast,
    output logic             m_host_tvalid,
    input  wire logic        m_host_tready,
    // pending-bitmap DMA writes (set the byte at m_dma_addr to 0x01, see
    // dvmm_ipi_dma)
    output logic             m_dma_valid,
    input  wire logic        m_dma_ready,
    output logic      [63:0] m_dma_addr,
    // host-ring registers (dvmm_regs) for dvmm_host_rings
    output logic             enable,       // CONTROL.enable
    output logic      [63:0] txr_base,
    output logic      [15:0] txr_size,
    output logic      [31:0] txr_prod,
    output logic      [63:0] rxr_base,
    output logic      [15:0] rxr_slots,
    output logic      [31:0] rxr_cons,
    output logic      [63:0] ring_wb,
    input  wire logic [31:0] txr_cons,
    input  wire logic [31:0] rxr_prod,
    input  wire logic [31:1] ring_status  // STATUS[31:1]
);
  localparam int NODE_W = $clog2(NODES);
  localparam int APIC_W = $clog2(APICS);
  localparam int SLOT_W = $clog2(WINDOW);
  localparam int BEAT_W = $clog2(MAX_MSG_BYTES / 8);
  localparam int BUF_AW = NODE_W + SLOT_W + BEAT_W;
  localparam int LEN_AW = NODE_W + SLOT_W;
  localparam int QW = $clog2(RXQ_BEATS);

  // ---- configuration ----
  logic dp_rst;
  logic [15:0] local_node;
  logic [47:0] local_mac;
  logic [31:0] cluster_id, retx_timeout, ack_delay, bitmap_vcpus;
  logic [63:0] bitmap_base;
  logic [NODE_W-1:0] node_a_idx, node_b_idx;
  logic node_a_valid;
  logic [47:0] node_b_mac;
  logic [APIC_W-1:0] apic_idx;
  logic apic_valid;
  logic [15:0] apic_node;
  logic [31:0] apic_vcpu, apic_ldr;
  logic [dvmm_pkg::NUM_COUNTERS-1:0] events;
  logic link_idle;

  // Disabling the engine resets the protocol state, so the host can
  // reprogram the tables and start every link again from sequence 1.
  assign dp_rst = rst || !enable;

  dvmm_regs #(
      .NODES(NODES), .APICS(APICS), .WINDOW(WINDOW), .MAX_MSG_BYTES(MAX_MSG_BYTES),
      .RXQ_BEATS(RXQ_BEATS)
  ) u_regs (
      .clk, .rst,
      .s_axil_awaddr, .s_axil_awvalid, .s_axil_awready, .s_axil_wdata, .s_axil_wstrb,
      .s_axil_wvalid, .s_axil_wready, .s_axil_bresp, .s_axil_bvalid, .s_axil_bready,
      .s_axil_araddr, .s_axil_arvalid, .s_axil_arready, .s_axil_rdata, .s_axil_rresp,
      .s_axil_rvalid, .s_axil_rready,
      .enable, .local_node, .local_mac, .cluster_id, .retx_timeout, .ack_delay, .bitmap_base,
      .bitmap_vcpus,
      .txr_base, .txr_size, .txr_prod, .rxr_base, .rxr_slots, .rxr_cons, .ring_wb, .txr_cons,
      .rxr_prod,
      .node_a_idx, .node_a_valid, .node_b_idx, .node_b_mac,
      .apic_idx, .apic_valid, .apic_node, .apic_vcpu, .apic_ldr,
      .status({ring_status, link_idle}),
      .events
  );

  // ---- TX ----
  logic [NODE_W-1:0] alloc_node;
  logic alloc_space, alloc_commit;
  logic [31:0] alloc_seq;
  logic [SLOT_W-1:0] alloc_slot;
  logic buf_wr_en, len_wr_en;
  logic [BUF_AW-1:0] buf_wr_addr, buf_rd_addr;
  logic [63:0] buf_wr_data, buf_rd_data;
  logic [LEN_AW-1:0] len_wr_addr, len_rd_addr;
  logic [15:0] len_wr_data, len_rd_data;
  logic sched_valid, sched_ack_only, sched_take;
  logic [NODE_W-1:0] sched_node;
  logic [31:0] sched_seq, sched_ack;
  logic [SLOT_W-1:0] sched_slot;
  logic [63:0] fr_tdata;
  logic [7:0] fr_tkeep;
  logic fr_tlast, fr_tvalid, fr_tready;

  dvmm_tx_desc #(
      .NODES(NODES), .APICS(APICS), .WINDOW(WINDOW), .MAX_MSG_BYTES(MAX_MSG_BYTES)
  ) u_tx_desc (
      .clk, .rst(dp_rst), .local_node, .cluster_id,
      .s_desc_tdata, .s_desc_tkeep, .s_desc_tlast, .s_desc_tvalid, .s_desc_tready,
      .node_idx(node_a_idx), .node_valid(node_a_valid),
      .apic_idx, .apic_valid, .apic_node, .apic_vcpu, .apic_ldr,
      .alloc_node, .alloc_space, .alloc_seq, .alloc_slot, .alloc_commit,
      .buf_wr_en, .buf_wr_addr, .buf_wr_data, .len_wr_en, .len_wr_addr, .len_wr_data,
      .ev_desc(events[dvmm_pkg::CNT_TX_DESC]),
      .ev_bad_desc(events[dvmm_pkg::CNT_TX_BAD_DESC]),
      .ev_no_target(events[dvmm_pkg::CNT_TX_NO_TARGET])
  );

  // The retransmit ring: message words (block RAM) and lengths (LUT RAM).
  dvmm_sdp_ram #(.DEPTH(1 << BUF_AW), .WIDTH(64), .REG_READ(1)) u_ring (
      .clk, .wr_en(buf_wr_en), .wr_addr(buf_wr_addr), .wr_data(buf_wr_data),
      .rd_addr(buf_rd_addr), .rd_data(buf_rd_data)
  );
  dvmm_sdp_ram #(.DEPTH(1 << LEN_AW), .WIDTH(16), .REG_READ(0)) u_ring_len (
      .clk, .wr_en(len_wr_en), .wr_addr(len_wr_addr), .wr_data(len_wr_data),
      .rd_addr(len_rd_addr), .rd_data(len_rd_data)
  );

  // ---- link state (shared by TX and RX) ----
  logic [NODE_W-1:0] rx_node, ack_node;
  logic [31:0] rx_expected, ack_value;
  logic rx_accept, rx_reject, ack_valid;

  dvmm_link_state #(.NODES(NODES), .WINDOW(WINDOW), .FIRST_SEQ(FIRST_SEQ)) u_link (
      .clk, .rst(dp_rst), .retx_timeout, .ack_delay,
      .alloc_node, .alloc_space, .alloc_seq, .alloc_slot, .alloc_commit,
      .sched_valid, .sched_node, .sched_ack_only, .sched_seq, .sched_slot, .sched_ack,
      .sched_take,
      .ack_valid, .ack_node, .ack_value,
      .rx_node, .rx_expected, .rx_accept, .rx_reject,
      .ev_timeout(events[dvmm_pkg::CNT_TX_TIMEOUT]),
      .idle(link_idle)
  );

  dvmm_tx_framer #(.NODES(NODES), .WINDOW(WINDOW), .MAX_MSG_BYTES(MAX_MSG_BYTES)) u_framer (
      .clk, .rst(dp_rst), .local_node, .local_mac, .cluster_id,
      .sched_valid, .sched_node, .sched_ack_only, .sched_seq, .sched_slot, .sched_ack,
      .sched_take,
      .node_idx(node_b_idx), .node_mac(node_b_mac),
      .buf_rd_addr, .buf_rd_data, .len_rd_addr, .len_rd_data,
      .m_tdata(fr_tdata), .m_tkeep(fr_tkeep), .m_tlast(fr_tlast), .m_tvalid(fr_tvalid),
      .m_tready(fr_tready),
      .ev_data(events[dvmm_pkg::CNT_TX_DATA]),
      .ev_ack(events[dvmm_pkg::CNT_TX_ACK])
  );

  dvmm_fcs_insert u_fcs_insert (
      .clk, .rst(dp_rst),
      .s_tdata(fr_tdata), .s_tkeep(fr_tkeep), .s_tlast(fr_tlast), .s_tvalid(fr_tvalid),
      .s_tready(fr_tready),
      .m_tdata(m_tx_tdata), .m_tkeep(m_tx_tkeep), .m_tlast(m_tx_tlast), .m_tvalid(m_tx_tvalid),
      .m_tready(m_tx_tready)
  );

  // ---- RX ----
  logic [63:0] ck_tdata;
  logic [7:0] ck_tkeep;
  logic ck_tlast, ck_tuser, ck_tvalid, ck_tready;
  logic q_wr_en, q_wr_last, q_commit, q_rollback;
  logic [63:0] q_wr_data;
  logic [7:0] q_wr_keep;
  logic [QW:0] q_free;
  logic ipi_valid, ipi_ready;
  logic [31:0] ipi_vcpu;
  logic [7:0] ipi_vector;

  dvmm_fcs_check u_fcs_check (
      .clk, .rst(dp_rst),
      .s_tdata(s_rx_tdata), .s_tkeep(s_rx_tkeep), .s_tlast(s_rx_tlast), .s_tvalid(s_rx_tvalid),
      .s_tready(s_rx_tready),
      .m_tdata(ck_tdata), .m_tkeep(ck_tkeep), .m_tlast(ck_tlast), .m_tuser(ck_tuser),
      .m_tvalid(ck_tvalid), .m_tready(ck_tready)
  );

  dvmm_rx #(.NODES(NODES), .MAX_MSG_BYTES(MAX_MSG_BYTES), .RXQ_BEATS(RXQ_BEATS)) u_rx (
      .clk, .rst(dp_rst), .local_node, .local_mac, .cluster_id, .bitmap_vcpus,
      .s_tdata(ck_tdata), .s_tkeep(ck_tkeep), .s_tlast(ck_tlast), .s_tuser(ck_tuser),
      .s_tvalid(ck_tvalid), .s_tready(ck_tready),
      .rx_node, .rx_expected, .rx_accept, .rx_reject, .ack_valid, .ack_node, .ack_value,
      .q_wr_en, .q_wr_data, .q_wr_keep, .q_wr_last, .q_commit, .q_rollback, .q_free,
      .ipi_valid, .ipi_ready, .ipi_vcpu, .ipi_vector,
      .ev_frame(events[dvmm_pkg::CNT_RX_FRAME]),
      .ev_host(events[dvmm_pkg::CNT_RX_HOST]),
      .ev_ipi(events[dvmm_pkg::CNT_RX_IPI]),
      .ev_ack(events[dvmm_pkg::CNT_RX_ACK]),
      .ev_bad_fcs(events[dvmm_pkg::CNT_RX_BAD_FCS]),
      .ev_ethertype(events[dvmm_pkg::CNT_RX_ETHERTYPE]),
      .ev_dst_mac(events[dvmm_pkg::CNT_RX_DST_MAC]),
      .ev_cluster(events[dvmm_pkg::CNT_RX_CLUSTER]),
      .ev_malformed(events[dvmm_pkg::CNT_RX_MALFORMED]),
      .ev_duplicate(events[dvmm_pkg::CNT_RX_DUPLICATE]),
      .ev_out_of_order(events[dvmm_pkg::CNT_RX_OUT_OF_ORDER]),
      .ev_queue_full(events[dvmm_pkg::CNT_RX_QUEUE_FULL])
  );

  dvmm_rx_queue #(.BEATS(RXQ_BEATS)) u_rx_queue (
      .clk, .rst(dp_rst),
      .wr_en(q_wr_en), .wr_data(q_wr_data), .wr_keep(q_wr_keep), .wr_last(q_wr_last),
      .commit(q_commit), .rollback(q_rollback), .free(q_free),
      .m_tdata(m_host_tdata), .m_tkeep(m_host_tkeep), .m_tlast(m_host_tlast),
      .m_tvalid(m_host_tvalid), .m_tready(m_host_tready)
  );

  dvmm_ipi_dma u_ipi_dma (
      .clk, .rst(dp_rst), .bitmap_base,
      .req_valid(ipi_valid), .req_ready(ipi_ready), .req_vcpu(ipi_vcpu), .req_vector(ipi_vector),
      .m_dma_valid, .m_dma_ready, .m_dma_addr
  );

`ifndef SYNTHESIS
  // Output handshakes: once offered, a beat (or a DMA write) stays, unchanged,
  // until it is taken.
  logic tx_stall_q, host_stall_q, dma_stall_q;
  logic [72:0] tx_beat_q, host_beat_q;
  logic [63:0] dma_q;
  always_ff @(posedge clk) begin
    tx_stall_q <= !dp_rst && m_tx_tvalid && !m_tx_tready;
    host_stall_q <= !dp_rst && m_host_tvalid && !m_host_tready;
    dma_stall_q <= !dp_rst && m_dma_valid && !m_dma_ready;
    tx_beat_q <= {m_tx_tlast, m_tx_tkeep, m_tx_tdata};
    host_beat_q <= {m_host_tlast, m_host_tkeep, m_host_tdata};
    dma_q <= m_dma_addr;
    if (!dp_rst) begin
      if (tx_stall_q)
        assert (m_tx_tvalid && tx_beat_q == {m_tx_tlast, m_tx_tkeep, m_tx_tdata})
        else $error("engine: m_tx beat changed while stalled");
      if (host_stall_q)
        assert (m_host_tvalid && host_beat_q == {m_host_tlast, m_host_tkeep, m_host_tdata})
        else $error("engine: m_host beat changed while stalled");
      if (dma_stall_q)
        assert (m_dma_valid && dma_q == m_dma_addr)
        else $error("engine: DMA write changed while stalled");
    end
  end
`endif
endmodule

`default_nettype wire
