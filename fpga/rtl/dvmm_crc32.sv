// dvmm_crc32: one step of the Ethernet CRC-32 (IEEE 802.3) over the valid
// bytes of a 64-bit AXI-Stream beat. Purely combinational, so the FCS
// inserter and checker share one definition.
//
// Reflected form: polynomial 0xEDB88320, bytes in lane order (lane 0 =
// first on the wire), bits LSB first. The caller starts the register at
// dvmm_pkg::CRC_INIT and transmits ~crc little-endian as the FCS.
`default_nettype none

module dvmm_crc32 (
    input  wire logic [31:0] crc_in,   // register before this beat
    input  wire logic [63:0] data,     // lane i = data[8i +: 8]
    input  wire logic [7:0]  keep,     // lanes that take part (any pattern)
    output logic      [31:0] crc_out   // register after this beat
);
  always_comb begin
    crc_out = crc_in;
    for (int lane = 0; lane < 8; lane++) begin
      if (keep[lane]) begin
        crc_out = crc_out ^ {24'd0, data[8*lane+:8]};
        for (int bit_i = 0; bit_i < 8; bit_i++) begin
          crc_out = crc_out[0] ? ((crc_out >> 1) ^ 32'hEDB8_8320) : (crc_out >> 1);
        end
      end
    end
  end
endmodule

`default_nettype wire
