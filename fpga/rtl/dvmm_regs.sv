// dvmm_regs: the engine's AXI-Lite register file (32-bit registers,
// byte addresses; docs/fpga.md has the full map):
//   0x000 ID           RO  0xD7E0_0002 (engine id, register map version 2)
//   0x004 CONTROL      RW  bit 0 enable: 0 holds the datapath in reset (all
//                          sequence state back to FIRST_SEQ, queues empty);
//                          bit 1 write 1: clear every counter (self-clearing)
//   0x008 PARAMS       RO  [7:0] NODES, [15:8] WINDOW, [31:16] APICS
//   0x00C PARAMS2      RO  [15:0] MAX_MSG_BYTES, [31:16] RXQ_BEATS
//   0x010 STATUS       RO  [0] links idle (nothing unacknowledged, no ack owed);
//                          [31:1] from the host-ring front end (dvmm_host_rings):
//                          [1] busy, [8] index error, [9] geometry error,
//                          [10] host memory error response
//   0x020 LOCAL_NODE   RW  [15:0]
//   0x024 LOCAL_MAC_LO RW  MAC bytes 0-3 (byte 0, first on the wire, in [7:0])
//   0x028 LOCAL_MAC_HI RW  [15:0] MAC bytes 4-5
//   0x02C CLUSTER_ID   RW
//   0x030 RETX_TIMEOUT RW  cycles before go-back-N retransmission
//   0x034 ACK_DELAY    RW  cycles a lone ACK waits for a piggyback ride
//   0x038 BITMAP_LO    RW  pending-bitmap base address, bits 31:0 (256 bytes a vCPU)
//   0x03C BITMAP_HI    RW  bits 63:32
//   0x040 BITMAP_VCPUS RW  vCPUs that have a bitmap (IPIs to others go to the queue)
//   host rings (dvmm_host_rings; docs/fpga.md "Host rings"):
//   0x050 TXR_BASE_LO  RW  descriptor ring base, bits 31:0 (128-byte aligned)
//   0x054 TXR_BASE_HI  RW  bits 63:32
//   0x058 TXR_SIZE     RW  [15:0] ring size in 64-bit words (power of 2 >= 16; 0 = off)
//   0x05C TXR_PROD     RW  doorbell: words written by the host (free running)
//   0x060 TXR_CONS     RO  words the engine has taken (free running)
//   0x064 RXR_BASE_LO  RW  receive ring base, bits 31:0 (2 * MAX_MSG_BYTES aligned)
//   0x068 RXR_BASE_HI  RW  bits 63:32
//   0x06C RXR_SLOTS    RW  [15:0] slots (power of 2; 0 = off)
//   0x070 RXR_PROD     RO  slots the engine has filled (free running)
//   0x074 RXR_CONS     RW  slots the host has returned (free running)
//   0x078 RING_WB_LO   RW  writeback address of {RXR_PROD, TXR_CONS}, bits 31:0 (8-byte aligned; 0 = none)
//   0x07C RING_WB_HI   RW  bits 63:32
//   0x100 + 4i         RO  counter i (dvmm_pkg::CNT_*), 32-bit, wrapping
//   0x800 + 8n         RW  node n: MAC bytes 0-3
//   0x804 + 8n         RW  node n: [15:0] MAC bytes 4-5, [31] valid
//   0x1000 + 16a       RW  APIC ID a: [15:0] node, [31] valid
//   0x1004 + 16a       RW  APIC ID a: vCPU index
//   0x1008 + 16a       RW  APIC ID a: LDR (xAPIC flat: [31:24]; x2APIC: cluster<<16 | bit)
// Unmapped addresses read 0 and ignore writes; both answer OKAY. Writes
// honour WSTRB. One write and one read are in flight at most. While
// CONTROL.enable is clear, TXR_PROD and RXR_CONS read 0 and ignore writes:
// the front end's own indices are held at 0 then, and both sides of each
// ring must start from the same index.
//
// The tables have asynchronous read ports (LUT RAM after synthesis), so the
// TX path can scan the APIC table one entry per cycle without a block-RAM
// latency.
`default_nettype none

module dvmm_regs #(
    parameter int NODES = 4,          // destination nodes (table entries), <= 256
    parameter int APICS = 16,         // APIC IDs in the destination table, <= 256
    parameter int WINDOW = 8,         // reported in PARAMS
    parameter int MAX_MSG_BYTES = 128,// reported in PARAMS2
    parameter int RXQ_BEATS = 256,    // reported in PARAMS2
    localparam int NODE_W = $clog2(NODES),
    localparam int APIC_W = $clog2(APICS)
) (
    input  wire logic        clk,
    input  wire logic        rst,
    // AXI-Lite slave
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
    // configuration
    output logic             enable,
    output logic      [15:0] local_node,
    output logic      [47:0] local_mac,      // byte 0 (first on the wire) in [7:0]
    output logic      [31:0] cluster_id,
    output logic      [31:0] retx_timeout,
    output logic      [31:0] ack_delay,
    output logic      [63:0] bitmap_base,
    output logic      [31:0] bitmap_vcpus,
    // host rings
    output logic      [63:0] txr_base,
    output logic      [15:0] txr_size,
    output logic      [31:0] txr_prod,
    output logic      [63:0] rxr_base,
    output logic      [15:0] rxr_slots,
    output logic      [31:0] rxr_cons,
    output logic      [63:0] ring_wb,
    input  wire logic [31:0] txr_cons,
    input  wire logic [31:0] rxr_prod,
    // node table read ports (TX descriptor check, TX framer)
    input  wire logic [NODE_W-1:0] node_a_idx,
    output logic                   node_a_valid,
    input  wire logic [NODE_W-1:0] node_b_idx,
    output logic      [47:0]       node_b_mac,
    // APIC table read port (TX target expansion)
    input  wire logic [APIC_W-1:0] apic_idx,
    output logic                   apic_valid,
    output logic      [15:0]       apic_node,
    output logic      [31:0]       apic_vcpu,
    output logic      [31:0]       apic_ldr,
    input  wire logic [31:0] status,
    // one-cycle event pulses, one bit per dvmm_pkg::CNT_* counter
    input  wire logic [dvmm_pkg::NUM_COUNTERS-1:0] events
);
  logic [47:0] node_mac [0:NODES-1];
  logic node_ok [0:NODES-1];
  logic apic_ok [0:APICS-1];
  logic [15:0] apic_node_q [0:APICS-1];
  logic [31:0] apic_vcpu_q [0:APICS-1];
  logic [31:0] apic_ldr_q [0:APICS-1];
  logic [31:0] counter [0:dvmm_pkg::NUM_COUNTERS-1];
  logic clear_counters;

  always_comb begin
    node_a_valid = node_ok[node_a_idx];
    node_b_mac = node_mac[node_b_idx];
    apic_valid = apic_ok[apic_idx];
    apic_node = apic_node_q[apic_idx];
    apic_vcpu = apic_vcpu_q[apic_idx];
    apic_ldr = apic_ldr_q[apic_idx];
  end

  // ---- address decode, shared by the read port (0) and the write port
  // (1: the current value, merged with the write data under WSTRB) ----
  logic [13:0] dec_addr [0:1];
  logic [31:0] dec_word [0:1];
  logic dec_node [0:1];
  logic dec_apic [0:1];
  logic dec_cnt [0:1];
  logic [7:0] dec_node_idx [0:1];
  logic [7:0] dec_apic_idx [0:1];
  logic [7:0] dec_cnt_idx [0:1];
  assign dec_addr[0] = s_axil_araddr;
  assign dec_addr[1] = s_axil_awaddr;
  always_comb begin
    for (int p = 0; p < 2; p++) begin
      dec_node_idx[p] = dec_addr[p][10:3];
      dec_apic_idx[p] = dec_addr[p][11:4];
      dec_cnt_idx[p] = {2'b00, dec_addr[p][7:2]};
      dec_node[p] = dec_addr[p][13:11] == 3'b001 && {24'd0, dec_node_idx[p]} < NODES;
      dec_apic[p] = dec_addr[p][13:12] == 2'b01 && {24'd0, dec_apic_idx[p]} < APICS;
      dec_cnt[p] = dec_addr[p][13:8] == 6'h01 &&
                   {24'd0, dec_cnt_idx[p]} < dvmm_pkg::NUM_COUNTERS;
      dec_word[p] = 32'd0;
      case (dec_addr[p])
        14'h000: dec_word[p] = 32'hD7E0_0002;
        14'h004: dec_word[p] = {31'd0, enable};
        14'h008: dec_word[p] = {16'(APICS), 8'(WINDOW), 8'(NODES)};
        14'h00C: dec_word[p] = {16'(RXQ_BEATS), 16'(MAX_MSG_BYTES)};
        14'h010: dec_word[p] = status;
        14'h020: dec_word[p] = {16'd0, local_node};
        14'h024: dec_word[p] = local_mac[31:0];
        14'h028: dec_word[p] = {16'd0, local_mac[47:32]};
        14'h02C: dec_word[p] = cluster_id;
        14'h030: dec_word[p] = retx_timeout;
        14'h034: dec_word[p] = ack_delay;
        14'h038: dec_word[p] = bitmap_base[31:0];
        14'h03C: dec_word[p] = bitmap_base[63:32];
        14'h040: dec_word[p] = bitmap_vcpus;
        14'h050: dec_word[p] = txr_base[31:0];
        14'h054: dec_word[p] = txr_base[63:32];
        14'h058: dec_word[p] = {16'd0, txr_size};
        14'h05C: dec_word[p] = txr_prod;
        14'h060: dec_word[p] = txr_cons;
        14'h064: dec_word[p] = rxr_base[31:0];
        14'h068: dec_word[p] = rxr_base[63:32];
        14'h06C: dec_word[p] = {16'd0, rxr_slots};
        14'h070: dec_word[p] = rxr_prod;
        14'h074: dec_word[p] = rxr_cons;
        14'h078: dec_word[p] = ring_wb[31:0];
        14'h07C: dec_word[p] = ring_wb[63:32];
        default: ;
      endcase
      if (dec_cnt[p]) dec_word[p] = counter[dec_cnt_idx[p][$clog2(dvmm_pkg::NUM_COUNTERS)-1:0]];
      if (dec_node[p])
        dec_word[p] = dec_addr[p][2] ? {node_ok[dec_node_idx[p][NODE_W-1:0]], 15'd0,
                                        node_mac[dec_node_idx[p][NODE_W-1:0]][47:32]}
                                     : node_mac[dec_node_idx[p][NODE_W-1:0]][31:0];
      if (dec_apic[p]) begin
        case (dec_addr[p][3:2])
          2'd0: dec_word[p] = {apic_ok[dec_apic_idx[p][APIC_W-1:0]], 15'd0,
                               apic_node_q[dec_apic_idx[p][APIC_W-1:0]]};
          2'd1: dec_word[p] = apic_vcpu_q[dec_apic_idx[p][APIC_W-1:0]];
          2'd2: dec_word[p] = apic_ldr_q[dec_apic_idx[p][APIC_W-1:0]];
          default: ;
        endcase
      end
    end
  end

  // ---- write channel: address and data are taken together ----
  logic do_write;
  logic [31:0] wmask, wnew;
  logic [13:0] waddr;
  logic [NODE_W-1:0] wnode;
  logic [APIC_W-1:0] wapic;
  assign do_write = s_axil_awvalid && s_axil_wvalid && !s_axil_bvalid;
  assign s_axil_awready = do_write;
  assign s_axil_wready = do_write;
  assign s_axil_bresp = 2'b00;
  assign waddr = s_axil_awaddr;
  assign wmask = {{8{s_axil_wstrb[3]}}, {8{s_axil_wstrb[2]}}, {8{s_axil_wstrb[1]}},
                  {8{s_axil_wstrb[0]}}};
  assign wnew = (dec_word[1] & ~wmask) | (s_axil_wdata & wmask);
  assign wnode = dec_node_idx[1][NODE_W-1:0];
  assign wapic = dec_apic_idx[1][APIC_W-1:0];

  always_ff @(posedge clk) begin
    clear_counters <= 1'b0;
    if (s_axil_bvalid && s_axil_bready) s_axil_bvalid <= 1'b0;
    if (do_write) begin
      s_axil_bvalid <= 1'b1;
      case (waddr)
        14'h004: begin
          enable <= wnew[0];
          clear_counters <= wnew[1];
        end
        14'h020: local_node <= wnew[15:0];
        14'h024: local_mac[31:0] <= wnew;
        14'h028: local_mac[47:32] <= wnew[15:0];
        14'h02C: cluster_id <= wnew;
        14'h030: retx_timeout <= wnew;
        14'h034: ack_delay <= wnew;
        14'h038: bitmap_base[31:0] <= wnew;
        14'h03C: bitmap_base[63:32] <= wnew;
        14'h040: bitmap_vcpus <= wnew;
        14'h050: txr_base[31:0] <= wnew;
        14'h054: txr_base[63:32] <= wnew;
        14'h058: txr_size <= wnew[15:0];
        14'h05C: txr_prod <= wnew;
        14'h064: rxr_base[31:0] <= wnew;
        14'h068: rxr_base[63:32] <= wnew;
        14'h06C: rxr_slots <= wnew[15:0];
        14'h074: rxr_cons <= wnew;
        14'h078: ring_wb[31:0] <= wnew;
        14'h07C: ring_wb[63:32] <= wnew;
        default: ;
      endcase
      if (dec_node[1]) begin
        if (waddr[2]) begin
          node_mac[wnode][47:32] <= wnew[15:0];
          node_ok[wnode] <= wnew[31];
        end else begin
          node_mac[wnode][31:0] <= wnew;
        end
      end
      if (dec_apic[1]) begin
        case (waddr[3:2])
          2'd0: begin
            apic_node_q[wapic] <= wnew[15:0];
            apic_ok[wapic] <= wnew[31];
          end
          2'd1: apic_vcpu_q[wapic] <= wnew;
          2'd2: apic_ldr_q[wapic] <= wnew;
          default: ;
        endcase
      end
    end
    if (!enable) begin
      txr_prod <= 32'd0;
      rxr_cons <= 32'd0;
    end
    if (rst) begin
      s_axil_bvalid <= 1'b0;
      enable <= 1'b0;
      clear_counters <= 1'b0;
      local_node <= 16'd0;
      local_mac <= 48'd0;
      cluster_id <= 32'd0;
      retx_timeout <= 32'd1000;
      ack_delay <= 32'd64;
      bitmap_base <= 64'd0;
      bitmap_vcpus <= 32'd0;
      txr_base <= 64'd0;
      txr_size <= 16'd0;
      rxr_base <= 64'd0;
      rxr_slots <= 16'd0;
      ring_wb <= 64'd0;
      txr_prod <= 32'd0;
      rxr_cons <= 32'd0;
      // Entries keep their contents; only the valid bits are cleared so a
      // stale entry is never used.
      for (int i = 0; i < NODES; i++) node_ok[i] <= 1'b0;
      for (int i = 0; i < APICS; i++) apic_ok[i] <= 1'b0;
    end
  end

  // ---- counters ----
  always_ff @(posedge clk) begin
    for (int i = 0; i < dvmm_pkg::NUM_COUNTERS; i++) begin
      if (rst || clear_counters) counter[i] <= 32'd0;
      else if (events[i]) counter[i] <= counter[i] + 32'd1;
    end
  end

  // ---- read channel ----
  assign s_axil_arready = !s_axil_rvalid;
  assign s_axil_rresp = 2'b00;
  always_ff @(posedge clk) begin
    if (s_axil_rvalid && s_axil_rready) s_axil_rvalid <= 1'b0;
    if (s_axil_arvalid && s_axil_arready) begin
      s_axil_rvalid <= 1'b1;
      s_axil_rdata <= dec_word[0];
    end
    if (rst) s_axil_rvalid <= 1'b0;
  end

`ifndef SYNTHESIS
  initial begin
    if (NODES < 2 || NODES > 256 || APICS < 2 || APICS > 256)
      $fatal(1, "dvmm_regs: NODES and APICS must be 2..256");
  end
`endif
endmodule

`default_nettype wire
