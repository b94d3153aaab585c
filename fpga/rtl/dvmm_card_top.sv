// dvmm_card_top: the engine as a card kernel (docs/fpga.md "Card build"):
// dvmm_engine with its host streams carried through host memory by
// dvmm_host_rings, so the host side is just the interfaces an Alveo shell
// gives an RTL kernel:
//
//   s_axi_control  AXI-Lite slave: the engine's register map (XRT: xrt::ip
//                  read_register / write_register on this kernel instance)
//   m_axi_gmem     AXI4 master, 64-bit, to host memory through the shell's
//                  host-memory (slave) bridge: the rings, the writeback word
//                  and the pending bitmaps live in XRT host-only buffers
//   m_axis_tx /    Ethernet frames, FCS included, to and from a MAC kernel
//   s_axis_rx      (64-bit AXI-Stream on this kernel's clock)
//   ap_clk, ap_rst_n
//
// The port names follow Vitis' RTL-kernel conventions, so packaging can
// infer the interfaces. STATUS[31:1] carry the front end's state (busy,
// errors) next to the engine's links-idle bit.
`default_nettype none

module dvmm_card_top #(
    parameter int NODES = 8,
    parameter int APICS = 16,
    parameter int WINDOW = 16,
    parameter int MAX_MSG_BYTES = 128,
    parameter int RXQ_BEATS = 256
) (
    input  wire logic        ap_clk,
    input  wire logic        ap_rst_n,
    // AXI-Lite register file
    input  wire logic [13:0] s_axi_control_awaddr,
    input  wire logic        s_axi_control_awvalid,
    output logic             s_axi_control_awready,
    input  wire logic [31:0] s_axi_control_wdata,
    input  wire logic [3:0]  s_axi_control_wstrb,
    input  wire logic        s_axi_control_wvalid,
    output logic             s_axi_control_wready,
    output logic      [1:0]  s_axi_control_bresp,
    output logic             s_axi_control_bvalid,
    input  wire logic        s_axi_control_bready,
    input  wire logic [13:0] s_axi_control_araddr,
    input  wire logic        s_axi_control_arvalid,
    output logic             s_axi_control_arready,
    output logic      [31:0] s_axi_control_rdata,
    output logic      [1:0]  s_axi_control_rresp,
    output logic             s_axi_control_rvalid,
    input  wire logic        s_axi_control_rready,
    // AXI4 master to host memory
    output logic      [63:0] m_axi_gmem_awaddr,
    output logic      [7:0]  m_axi_gmem_awlen,
    output logic      [2:0]  m_axi_gmem_awsize,
    output logic      [1:0]  m_axi_gmem_awburst,
    output logic      [3:0]  m_axi_gmem_awcache,
    output logic      [2:0]  m_axi_gmem_awprot,
    output logic             m_axi_gmem_awvalid,
    input  wire logic        m_axi_gmem_awready,
    output logic      [63:0] m_axi_gmem_wdata,
    output logic      [7:0]  m_axi_gmem_wstrb,
    output logic             m_axi_gmem_wlast,
    output logic             m_axi_gmem_wvalid,
    input  wire logic        m_axi_gmem_wready,
    input  wire logic [1:0]  m_axi_gmem_bresp,
    input  wire logic        m_axi_gmem_bvalid,
    output logic             m_axi_gmem_bready,
    output logic      [63:0] m_axi_gmem_araddr,
    output logic      [7:0]  m_axi_gmem_arlen,
    output logic      [2:0]  m_axi_gmem_arsize,
    output logic      [1:0]  m_axi_gmem_arburst,
    output logic      [3:0]  m_axi_gmem_arcache,
    output logic      [2:0]  m_axi_gmem_arprot,
    output logic             m_axi_gmem_arvalid,
    input  wire logic        m_axi_gmem_arready,
    input  wire logic [63:0] m_axi_gmem_rdata,
    input  wire logic [1:0]  m_axi_gmem_rresp,
    input  wire logic        m_axi_gmem_rlast,
    input  wire logic        m_axi_gmem_rvalid,
    output logic             m_axi_gmem_rready,
    // Ethernet frames to the MAC (FCS included)
    output logic      [63:0] m_axis_tx_tdata,
    output logic      [7:0]  m_axis_tx_tkeep,
    output logic             m_axis_tx_tlast,
    output logic             m_axis_tx_tvalid,
    input  wire logic        m_axis_tx_tready,
    // Ethernet frames from the MAC (FCS included)
    input  wire logic [63:0] s_axis_rx_tdata,
    input  wire logic [7:0]  s_axis_rx_tkeep,
    input  wire logic        s_axis_rx_tlast,
    input  wire logic        s_axis_rx_tvalid,
    output logic             s_axis_rx_tready
);
  logic rst;
  assign rst = !ap_rst_n;  // the shell's reset is synchronous to ap_clk

  logic [63:0] desc_tdata, host_tdata;
  logic [7:0] desc_tkeep, host_tkeep;
  logic desc_tlast, desc_tvalid, desc_tready, host_tlast, host_tvalid, host_tready;
  logic dma_valid, dma_ready;
  logic [63:0] dma_addr;
  logic enable;
  logic [63:0] txr_base, rxr_base, ring_wb;
  logic [15:0] txr_size, rxr_slots;
  logic [31:0] txr_prod, txr_cons, rxr_prod, rxr_cons;
  logic rings_busy;
  logic [2:0] rings_error;

  dvmm_engine #(
      .NODES(NODES), .APICS(APICS), .WINDOW(WINDOW), .MAX_MSG_BYTES(MAX_MSG_BYTES),
      .RXQ_BEATS(RXQ_BEATS)
  ) u_engine (
      .clk(ap_clk), .rst,
      .s_axil_awaddr(s_axi_control_awaddr), .s_axil_awvalid(s_axi_control_awvalid),
      .s_axil_awready(s_axi_control_awready), .s_axil_wdata(s_axi_control_wdata),
      .s_axil_wstrb(s_axi_control_wstrb), .s_axil_wvalid(s_axi_control_wvalid),
      .s_axil_wready(s_axi_control_wready), .s_axil_bresp(s_axi_control_bresp),
      .s_axil_bvalid(s_axi_control_bvalid), .s_axil_bready(s_axi_control_bready),
      .s_axil_araddr(s_axi_control_araddr), .s_axil_arvalid(s_axi_control_arvalid),
      .s_axil_arready(s_axi_control_arready), .s_axil_rdata(s_axi_control_rdata),
      .s_axil_rresp(s_axi_control_rresp), .s_axil_rvalid(s_axi_control_rvalid),
      .s_axil_rready(s_axi_control_rready),
      .s_desc_tdata(desc_tdata), .s_desc_tkeep(desc_tkeep), .s_desc_tlast(desc_tlast),
      .s_desc_tvalid(desc_tvalid), .s_desc_tready(desc_tready),
      .m_tx_tdata(m_axis_tx_tdata), .m_tx_tkeep(m_axis_tx_tkeep), .m_tx_tlast(m_axis_tx_tlast),
      .m_tx_tvalid(m_axis_tx_tvalid), .m_tx_tready(m_axis_tx_tready),
      .s_rx_tdata(s_axis_rx_tdata), .s_rx_tkeep(s_axis_rx_tkeep), .s_rx_tlast(s_axis_rx_tlast),
      .s_rx_tvalid(s_axis_rx_tvalid), .s_rx_tready(s_axis_rx_tready),
      .m_host_tdata(host_tdata), .m_host_tkeep(host_tkeep), .m_host_tlast(host_tlast),
      .m_host_tvalid(host_tvalid), .m_host_tready(host_tready),
      .m_dma_valid(dma_valid), .m_dma_ready(dma_ready), .m_dma_addr(dma_addr),
      .enable, .txr_base, .txr_size, .txr_prod, .rxr_base, .rxr_slots, .rxr_cons, .ring_wb,
      .txr_cons, .rxr_prod,
      .ring_status({21'd0, rings_error, 6'd0, rings_busy})
  );

  dvmm_host_rings #(.MAX_MSG_BYTES(MAX_MSG_BYTES)) u_rings (
      .clk(ap_clk), .rst, .enable,
      .txr_base, .txr_size, .txr_prod, .rxr_base, .rxr_slots, .rxr_cons, .wb_addr(ring_wb),
      .txr_cons, .rxr_prod, .busy(rings_busy), .error(rings_error),
      .m_desc_tdata(desc_tdata), .m_desc_tkeep(desc_tkeep), .m_desc_tlast(desc_tlast),
      .m_desc_tvalid(desc_tvalid), .m_desc_tready(desc_tready),
      .s_host_tdata(host_tdata), .s_host_tkeep(host_tkeep), .s_host_tlast(host_tlast),
      .s_host_tvalid(host_tvalid), .s_host_tready(host_tready),
      .s_dma_valid(dma_valid), .s_dma_ready(dma_ready), .s_dma_addr(dma_addr),
      .m_axi_awaddr(m_axi_gmem_awaddr), .m_axi_awlen(m_axi_gmem_awlen),
      .m_axi_awsize(m_axi_gmem_awsize), .m_axi_awburst(m_axi_gmem_awburst),
      .m_axi_awcache(m_axi_gmem_awcache), .m_axi_awprot(m_axi_gmem_awprot),
      .m_axi_awvalid(m_axi_gmem_awvalid), .m_axi_awready(m_axi_gmem_awready),
      .m_axi_wdata(m_axi_gmem_wdata), .m_axi_wstrb(m_axi_gmem_wstrb),
      .m_axi_wlast(m_axi_gmem_wlast), .m_axi_wvalid(m_axi_gmem_wvalid),
      .m_axi_wready(m_axi_gmem_wready),
      .m_axi_bresp(m_axi_gmem_bresp), .m_axi_bvalid(m_axi_gmem_bvalid),
      .m_axi_bready(m_axi_gmem_bready),
      .m_axi_araddr(m_axi_gmem_araddr), .m_axi_arlen(m_axi_gmem_arlen),
      .m_axi_arsize(m_axi_gmem_arsize), .m_axi_arburst(m_axi_gmem_arburst),
      .m_axi_arcache(m_axi_gmem_arcache), .m_axi_arprot(m_axi_gmem_arprot),
      .m_axi_arvalid(m_axi_gmem_arvalid), .m_axi_arready(m_axi_gmem_arready),
      .m_axi_rdata(m_axi_gmem_rdata), .m_axi_rresp(m_axi_gmem_rresp),
      .m_axi_rlast(m_axi_gmem_rlast), .m_axi_rvalid(m_axi_gmem_rvalid),
      .m_axi_rready(m_axi_gmem_rready)
  );
endmodule

`default_nettype wire
