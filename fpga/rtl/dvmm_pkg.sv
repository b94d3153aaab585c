// dvmm_pkg: wire-format constants, descriptor layout and counter indices
// shared by every module of the dvmm offload engine (docs/fpga.md).
//
// The wire format is the software's: dataplane/message.hpp (24-byte dvmm
// header, little-endian fields) inside dataplane/dpdk/frame.hpp's Ethernet
// encapsulation (dst MAC, src MAC, EtherType 0x88B5, u16 big-endian length,
// dvmm frame, zero pad to 60 bytes), plus the 4-byte FCS the engine adds.
// The 16-byte encapsulation header is two 64-bit beats, so every dvmm
// header field sits at a fixed beat and byte lane:
//   beat 2  magic, version, type, flags, src_node, dst_node
//   beat 3  seq (lanes 0-3), ack (lanes 4-7)
//   beat 4  cluster_id, payload_len, reserved
//   beat 5+ payload (IPI: target_vcpu, vector, mode, flags, shorthand;
//           beat 6: destination, source_vcpu; beat 7: reserved)
//
// yosys 0.23 compatibility (shared/FACTS.md): modules refer to this package
// as dvmm_pkg::NAME (no import inside modules), functions assign their name
// instead of using `return`, and no module uses packed multi-dimensional
// arrays or unpacked arrays of packed structs.
package dvmm_pkg;

  // ---- dvmm wire format (dataplane/message.hpp) ----
  localparam logic [7:0] WIRE_MAGIC = 8'hD7;
  localparam logic [7:0] WIRE_VERSION = 8'd1;
  localparam logic [7:0] FLAG_ACK_ONLY = 8'h01;
  localparam logic [7:0] TYPE_ACK = 8'd1;
  localparam logic [7:0] TYPE_IPI = 8'd2;
  localparam int HEADER_BYTES = 24;
  localparam int IPI_PAYLOAD_BYTES = 20;
  localparam int IPI_MSG_BYTES = HEADER_BYTES + IPI_PAYLOAD_BYTES;  // 44

  // IPI payload flag bits (host/cluster/apic_wire.cpp) and the values the
  // codec accepts (message.cpp validate(IpiPayload)).
  localparam int IPI_FLAG_LOGICAL = 0;
  localparam int IPI_FLAG_LEVEL = 1;
  localparam int IPI_FLAG_X2APIC = 3;
  localparam logic [7:0] IPI_FLAG_MASK = 8'h0F;
  localparam logic [7:0] MODE_FIXED = 8'd0;
  localparam logic [7:0] MODE_LOWEST_PRIORITY = 8'd1;
  localparam logic [7:0] SHORTHAND_NONE = 8'd0;
  localparam logic [7:0] SHORTHAND_SELF = 8'd1;
  localparam logic [7:0] SHORTHAND_ALL = 8'd2;
  localparam logic [7:0] SHORTHAND_ALL_BUT_SELF = 8'd3;

  // ---- Ethernet encapsulation (dataplane/dpdk/frame.hpp) ----
  localparam logic [15:0] ETHERTYPE = 16'h88B5;
  localparam int ENCAP_HEADER_BYTES = 16;
  localparam int ETH_MIN_FRAME = 60;  // without FCS
  // CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320). Running the
  // register over data followed by its FCS leaves this residue.
  localparam logic [31:0] CRC_INIT = 32'hFFFF_FFFF;
  localparam logic [31:0] CRC_RESIDUE = 32'hDEBB_20E3;

  // ---- host TX descriptors (docs/fpga.md, "Descriptors") ----
  // Beat 0, lanes 0: kind. RAW: lanes 2-3 dst_node, then the dvmm message.
  // IPI: lane 1 vector, lane 2 delivery mode, lane 3 flags, lane 4
  // shorthand; beat 1: destination (lanes 0-3), source_vcpu (lanes 4-7).
  localparam logic [7:0] DESC_RAW = 8'd1;
  localparam logic [7:0] DESC_IPI = 8'd2;

  // ---- event counters (AXI-Lite 0x100 + 4 * index) ----
  localparam int CNT_TX_DESC = 0;          // descriptors accepted
  localparam int CNT_TX_DATA = 1;          // data frames sent (retransmissions included)
  localparam int CNT_TX_TIMEOUT = 2;       // retransmit timeouts (go-back-N rewinds)
  localparam int CNT_TX_ACK = 3;           // standalone ACK frames sent
  localparam int CNT_TX_BAD_DESC = 4;      // descriptors dropped as malformed
  localparam int CNT_TX_NO_TARGET = 5;     // IPI descriptors with no remote target
  localparam int CNT_RX_FRAME = 6;         // frames received (every frame)
  localparam int CNT_RX_HOST = 7;          // messages delivered to the host queue
  localparam int CNT_RX_IPI = 8;           // IPIs delivered into a pending bitmap
  localparam int CNT_RX_ACK = 9;           // ACK-only frames received
  localparam int CNT_RX_BAD_FCS = 10;      // dropped: FCS mismatch
  localparam int CNT_RX_ETHERTYPE = 11;    // dropped: not EtherType 0x88B5
  localparam int CNT_RX_DST_MAC = 12;      // dropped: not addressed to the local MAC
  localparam int CNT_RX_CLUSTER = 13;      // dropped: another cluster id
  localparam int CNT_RX_MALFORMED = 14;    // dropped: header, length or node check failed
  localparam int CNT_RX_DUPLICATE = 15;    // dropped: sequence number already delivered
  localparam int CNT_RX_OUT_OF_ORDER = 16; // dropped: ahead of the expected sequence number
  localparam int CNT_RX_QUEUE_FULL = 17;   // dropped: no room in the host receive queue
  localparam int NUM_COUNTERS = 18;

  // ---- sequence numbers (reliable_link.cpp) ----
  // Wire sequence numbers run 1 .. 2^32-1 and wrap to 1: 0 marks an
  // unsequenced (ACK-only) frame, and an ack of 0 means "nothing yet".
  function automatic logic [31:0] seq_inc(input logic [31:0] s);
    seq_inc = (s == 32'hFFFF_FFFF) ? 32'd1 : s + 32'd1;
  endfunction

  function automatic logic [31:0] seq_dec(input logic [31:0] s);
    seq_dec = (s == 32'd1) ? 32'hFFFF_FFFF : s - 32'd1;
  endfunction

  // Steps from a to b (both non-zero) in the 2^32-1 sequence space.
  function automatic logic [31:0] seq_dist(input logic [31:0] a, input logic [31:0] b);
    seq_dist = (b >= a) ? b - a : b - a - 32'd1;
  endfunction

  // Number of leading valid bytes of a contiguous tkeep (0..8).
  function automatic logic [3:0] keep_bytes(input logic [7:0] keep);
    keep_bytes = 4'd0;
    for (int i = 0; i < 8; i++) begin
      if (keep[i]) keep_bytes = 4'(i + 1);
    end
  endfunction

  // tkeep for the first n (0..8) bytes of a beat.
  function automatic logic [7:0] keep_mask(input logic [3:0] n);
    keep_mask = 8'h00;
    for (int i = 0; i < 8; i++) begin
      if (4'(i) < n) keep_mask[i] = 1'b1;
    end
  endfunction

endpackage
