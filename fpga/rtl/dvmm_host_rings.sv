// dvmm_host_rings: puts the engine's host streams into host memory, behind
// one AXI4 master, for a card whose shell offers a host-memory bridge (an
// Alveo slave bridge: XRT host-only buffers) but no streaming DMA queues
// (docs/fpga.md "Host rings"). Three jobs share the master:
//
//   TX descriptor ring (host writes, engine reads): TXR_SIZE 64-bit words
//   at TXR_BASE. A descriptor is a length word ([15:0] bytes, 1 ..
//   MAX_MSG_BYTES + 8; [63:16] reserved) followed by its beats exactly as on
//   s_desc (docs/fpga.md "Descriptors"), and may wrap around the ring's end.
//   The host writes words, then the doorbell TXR_PROD (words written, free
//   running). The engine reads [fetched, TXR_PROD) in bursts of up to 16
//   words that never cross a 128-byte boundary (one read in flight), parses
//   the words into s_desc packets and publishes TXR_CONS (words whose
//   descriptor s_desc has fully taken) in the register and the writeback.
//
//   RX ring (engine writes, host reads): RXR_SLOTS slots of 2 *
//   MAX_MSG_BYTES bytes at RXR_BASE; slot i holds a header word at offset 0
//   ([15:0] message bytes, [31:16] tag = low 16 bits of i + 1, free-running
//   i, so neither zeroed memory nor a previous lap's message matches) and
//   the message at offset 64. The engine collects one m_host message, writes
//   its beats, waits for their B responses, and only then writes the header,
//   so a host that sees the tag sees the whole message. RXR_PROD counts the
//   headers written; the host returns slots by writing RXR_CONS. A full ring
//   holds m_host (tready low): the engine's receive queue then fills and
//   drops, unacknowledged, as for a slow host (RX_QUEUE_FULL).
//
//   Pending-bitmap writes (s_dma): one byte write of 0x01 at the byte
//   address the engine gives (docs/fpga.md "Pending bitmaps"), a narrow
//   write (WSTRB) that needs no read-modify-write of host memory.
//
//   Writeback (RING_WB, 0 = none): one word {RXR_PROD, TXR_CONS} written
//   whenever either changed, so the host polls memory, not registers.
//
// Arbitration on the write channels, one job at a time: the header of a
// message whose data is written (once its B responses are back), a bitmap
// write, a message's data, the writeback. AW and W of a job are offered
// together. Every transaction uses ID 0, so responses come back in order.
//
// enable low (CONTROL.enable clear) resets the ring state (indices to 0,
// queued words dropped) but never cuts an AXI transaction short: one in
// flight completes (read data is dropped) and `busy` stays high until then,
// so the host knows when it may free the rings' memory.
//
// Errors (sticky until enable is cleared; any one stops the rings from
// starting new transactions): index (a descriptor length out of range,
// TXR_PROD more than TXR_SIZE words ahead of TXR_CONS, RXR_CONS ahead of
// RXR_PROD), geometry (a size not a power of 2, TXR_SIZE below 16, a
// misaligned base), and an error response from host memory.
`default_nettype none

module dvmm_host_rings #(
    parameter int MAX_MSG_BYTES = 128,  // the engine's; power of 2, 64 .. 2048
    parameter int FIFO_WORDS = 32,      // descriptor words fetched ahead, power of 2 >= 32
    localparam int MSG_BEATS = MAX_MSG_BYTES / 8,
    localparam int MB_W = $clog2(MSG_BEATS),
    localparam int FA_W = $clog2(FIFO_WORDS),
    localparam int SLOT_SHIFT = $clog2(2 * MAX_MSG_BYTES)
) (
    input  wire logic        clk,
    input  wire logic        rst,
    input  wire logic        enable,
    // ring registers (dvmm_regs)
    input  wire logic [63:0] txr_base,
    input  wire logic [15:0] txr_size,   // words
    input  wire logic [31:0] txr_prod,
    input  wire logic [63:0] rxr_base,
    input  wire logic [15:0] rxr_slots,
    input  wire logic [31:0] rxr_cons,
    input  wire logic [63:0] wb_addr,
    output logic      [31:0] txr_cons,
    output logic      [31:0] rxr_prod,
    output logic             busy,
    output logic      [2:0]  error,      // [0] index, [1] geometry, [2] host memory response
    // descriptors to the engine (its s_desc)
    output logic      [63:0] m_desc_tdata,
    output logic      [7:0]  m_desc_tkeep,
    output logic             m_desc_tlast,
    output logic             m_desc_tvalid,
    input  wire logic        m_desc_tready,
    // messages from the engine (its m_host)
    input  wire logic [63:0] s_host_tdata,
    input  wire logic [7:0]  s_host_tkeep,
    input  wire logic        s_host_tlast,
    input  wire logic        s_host_tvalid,
    output logic             s_host_tready,
    // pending-bitmap byte writes from the engine (its m_dma)
    input  wire logic        s_dma_valid,
    output logic             s_dma_ready,
    input  wire logic [63:0] s_dma_addr,
    // AXI4 master to host memory (64-bit data, ID 0)
    output logic      [63:0] m_axi_awaddr,
    output logic      [7:0]  m_axi_awlen,
    output logic      [2:0]  m_axi_awsize,
    output logic      [1:0]  m_axi_awburst,
    output logic      [3:0]  m_axi_awcache,
    output logic      [2:0]  m_axi_awprot,
    output logic             m_axi_awvalid,
    input  wire logic        m_axi_awready,
    output logic      [63:0] m_axi_wdata,
    output logic      [7:0]  m_axi_wstrb,
    output logic             m_axi_wlast,
    output logic             m_axi_wvalid,
    input  wire logic        m_axi_wready,
    input  wire logic [1:0]  m_axi_bresp,
    input  wire logic        m_axi_bvalid,
    output logic             m_axi_bready,
    output logic      [63:0] m_axi_araddr,
    output logic      [7:0]  m_axi_arlen,
    output logic      [2:0]  m_axi_arsize,
    output logic      [1:0]  m_axi_arburst,
    output logic      [3:0]  m_axi_arcache,
    output logic      [2:0]  m_axi_arprot,
    output logic             m_axi_arvalid,
    input  wire logic        m_axi_arready,
    input  wire logic [63:0] m_axi_rdata,
    input  wire logic [1:0]  m_axi_rresp,
    input  wire logic        m_axi_rlast,
    input  wire logic        m_axi_rvalid,
    output logic             m_axi_rready
);
  localparam int BURST = 16;                // words per read burst: 128 bytes
  localparam int MSG_OFFSET = 64;           // message offset in an RX slot
  localparam int MAX_DESC_BYTES = MAX_MSG_BYTES + 8;

  // Full-width beats, incrementing bursts, normal non-cacheable bufferable
  // memory (what a host-memory bridge expects), unprivileged data access.
  assign m_axi_awsize = 3'b011;
  assign m_axi_awburst = 2'b01;
  assign m_axi_awcache = 4'b0011;
  assign m_axi_awprot = 3'b000;
  assign m_axi_arsize = 3'b011;
  assign m_axi_arburst = 2'b01;
  assign m_axi_arcache = 4'b0011;
  assign m_axi_arprot = 3'b000;
  assign m_axi_bready = 1'b1;
  assign m_axi_rready = 1'b1;  // the FIFO space of a burst is reserved before it is asked for

  logic rrst;  // ring state reset: indices, FIFO, collector (not the AXI channels)
  assign rrst = rst || !enable;

  // ---- geometry and errors ----
  logic tx_on, rx_on, wb_on, geom_bad;
  logic err_index_q, err_geom_q, err_resp_q, halted;
  assign tx_on = txr_size != 16'd0;
  assign rx_on = rxr_slots != 16'd0;
  assign wb_on = wb_addr != 64'd0;
  always_comb begin
    geom_bad = 1'b0;
    if (tx_on && ((txr_size & (txr_size - 16'd1)) != 16'd0 || txr_size < 16'(BURST) ||
                  txr_base[6:0] != 7'd0))
      geom_bad = 1'b1;
    if (rx_on && ((rxr_slots & (rxr_slots - 16'd1)) != 16'd0 ||
                  rxr_base[SLOT_SHIFT-1:0] != '0))
      geom_bad = 1'b1;
    if (wb_addr[2:0] != 3'd0) geom_bad = 1'b1;
  end
  assign error = {err_resp_q, err_geom_q, err_index_q};
  assign halted = err_index_q || err_geom_q || err_resp_q;

  // ==== TX: descriptor fetch ====
  logic [31:0] fetch_q, cons_q;       // words asked for / words handed over (free running)
  logic [31:0] avail, ahead, tx_mask;
  logic [4:0] to_boundary, want;      // words of the next burst, 1..16
  logic [FA_W:0] fifo_wr_q, fifo_rd_q, fifo_used, fifo_room;
  logic [63:0] fifo_mem [0:FIFO_WORDS-1];
  logic fifo_empty;
  logic ar_valid_q, rd_busy_q, rd_drop_q;
  logic [63:0] ar_addr_q;
  logic [7:0] ar_len_q;
  logic can_fetch, r_fire, r_push;

  assign avail = txr_prod - fetch_q;
  assign ahead = txr_prod - cons_q;
  assign tx_mask = {16'd0, txr_size - 16'd1};
  assign to_boundary = 5'(BURST) - {1'b0, fetch_q[3:0]};
  assign want = (avail < {27'd0, to_boundary}) ? avail[4:0] : to_boundary;
  assign fifo_used = fifo_wr_q - fifo_rd_q;
  assign fifo_empty = fifo_used == '0;
  assign fifo_room = (FA_W + 1)'(FIFO_WORDS) - fifo_used;
  // One read in flight, and only once the whole burst fits in the FIFO.
  assign can_fetch = !rrst && tx_on && !halted && !rd_busy_q && avail != 32'd0 &&
                     ahead <= {16'd0, txr_size} &&
                     {{(31 - FA_W){1'b0}}, fifo_room} >= {27'd0, want};
  assign m_axi_arvalid = ar_valid_q;
  assign m_axi_araddr = ar_addr_q;
  assign m_axi_arlen = ar_len_q;
  assign r_fire = m_axi_rvalid && m_axi_rready;
  // A beat with an error response is garbage: it stops the rings, unused.
  assign r_push = r_fire && !rd_drop_q && !rrst && m_axi_rresp == 2'b00;

  // ==== TX: descriptor parser (FIFO words -> s_desc packets) ====
  logic p_data_q;                     // 0: the FIFO head is a length word
  logic [MB_W+1:0] p_left_q, p_words_q;
  logic [7:0] p_keep_q;
  logic [63:0] head;
  logic [15:0] hdr_len;
  logic hdr_ok, hdr_take, hdr_bad, d_fire, pop;
  logic [MB_W+1:0] hdr_beats;
  assign head = fifo_mem[fifo_rd_q[FA_W-1:0]];
  assign hdr_len = head[15:0];
  assign hdr_ok = hdr_len != 16'd0 && hdr_len <= 16'(MAX_DESC_BYTES);
  assign hdr_beats = (MB_W + 2)'((hdr_len + 16'd7) >> 3);
  assign hdr_take = !rrst && !p_data_q && !fifo_empty && !halted && hdr_ok;
  assign hdr_bad = !rrst && !p_data_q && !fifo_empty && !halted && !hdr_ok;
  // Not gated by errors: an offered beat stays until taken (AXI-Stream).
  assign m_desc_tvalid = !rrst && p_data_q && !fifo_empty;
  assign m_desc_tdata = head;
  assign m_desc_tlast = p_left_q == (MB_W + 2)'(1);
  assign m_desc_tkeep = m_desc_tlast ? p_keep_q : 8'hFF;
  assign d_fire = m_desc_tvalid && m_desc_tready;
  assign pop = hdr_take || d_fire;

  always_ff @(posedge clk) begin
    if (r_push) begin
      fifo_mem[fifo_wr_q[FA_W-1:0]] <= m_axi_rdata;
      fifo_wr_q <= fifo_wr_q + 1'b1;
    end
    if (pop) fifo_rd_q <= fifo_rd_q + 1'b1;
    if (m_axi_arvalid && m_axi_arready) ar_valid_q <= 1'b0;
    // After an error beat the rest of its burst is dropped too: the FIFO
    // never holds a descriptor with a hole in it.
    if (r_fire && m_axi_rresp != 2'b00) rd_drop_q <= 1'b1;
    if (r_fire && m_axi_rlast) begin
      rd_busy_q <= 1'b0;
      rd_drop_q <= 1'b0;
    end
    if (can_fetch) begin
      ar_valid_q <= 1'b1;
      ar_addr_q <= txr_base + {29'd0, fetch_q & tx_mask, 3'd0};
      ar_len_q <= {3'd0, want - 5'd1};
      rd_busy_q <= 1'b1;
      fetch_q <= fetch_q + {27'd0, want};
    end
    if (hdr_take) begin
      p_data_q <= 1'b1;
      p_left_q <= hdr_beats;
      p_words_q <= hdr_beats + 1'b1;
      p_keep_q <= dvmm_pkg::keep_mask(hdr_len[2:0] == 3'd0 ? 4'd8 : {1'b0, hdr_len[2:0]});
    end
    if (d_fire) begin
      p_left_q <= p_left_q - 1'b1;
      if (m_desc_tlast) begin
        p_data_q <= 1'b0;
        cons_q <= cons_q + {{(30 - MB_W){1'b0}}, p_words_q};
      end
    end
    if (rrst) begin
      fetch_q <= '0;
      cons_q <= '0;
      fifo_wr_q <= '0;
      fifo_rd_q <= '0;
      p_data_q <= 1'b0;
      // A read in flight completes; its data is not for the new rings.
      if (rd_busy_q && !(r_fire && m_axi_rlast)) rd_drop_q <= 1'b1;
    end
    if (rst) begin
      ar_valid_q <= 1'b0;
      rd_busy_q <= 1'b0;
      rd_drop_q <= 1'b0;
    end
  end

  // ==== RX: message collector (m_host -> buffer) ====
  logic [31:0] rx_prod_q, rx_mask;
  logic slot_free;
  logic [63:0] msg_buf [0:MSG_BEATS-1];
  logic [MB_W:0] col_beat_q;          // beats collected of the message arriving
  logic msg_ready_q;                  // a whole message is in the buffer
  logic msg_data_done_q;              // ... and its data burst has been issued
  logic [MB_W:0] msg_last_q;          // its last beat's index
  logic [7:0] msg_keep_q;             // its last beat's tkeep
  logic [15:0] msg_bytes_q;
  logic h_fire;

  assign rx_mask = {16'd0, rxr_slots - 16'd1};
  assign slot_free = (rx_prod_q - rxr_cons) < {16'd0, rxr_slots};
  assign s_host_tready = !rrst && rx_on && !halted && !msg_ready_q && slot_free;
  assign h_fire = s_host_tvalid && s_host_tready;

  // ==== write channels: one job at a time ====
  typedef enum logic [2:0] {
    J_NONE,
    J_HDR,   // an RX slot's header word
    J_DMA,   // a pending-bitmap byte
    J_DATA,  // an RX message's beats
    J_WB     // the writeback word
  } job_t;
  job_t job_q, next_job;
  logic aw_done_q, w_done_q, job_stale_q;
  logic [MB_W:0] w_beat_q, w_last_q;
  logic [63:0] job_addr_q, job_word_q;
  logic [7:0] job_strb_q;
  logic [7:0] bout_q;                 // writes accepted, B not yet back
  logic [31:0] wb_tx_q, wb_rx_q;      // what the last writeback said
  logic wb_pending, aw_fire, w_fire, b_fire, job_end;
  logic [63:0] slot_addr;

  assign wb_pending = wb_on && (cons_q != wb_tx_q || rx_prod_q != wb_rx_q);
  assign slot_addr = rxr_base + ({32'd0, rx_prod_q & rx_mask} << SLOT_SHIFT);
  always_comb begin
    next_job = J_NONE;
    if (job_q == J_NONE && !rrst && !halted && bout_q != 8'hFF) begin
      if (msg_ready_q && msg_data_done_q) begin
        // The header goes once the data's B responses are back; until
        // then nothing else starts, so the wait is bounded.
        if (bout_q == 8'd0) next_job = J_HDR;
      end else if (s_dma_valid) begin
        next_job = J_DMA;
      end else if (msg_ready_q) begin
        next_job = J_DATA;
      end else if (wb_pending) begin
        next_job = J_WB;
      end
    end
  end
  assign s_dma_ready = next_job == J_DMA;

  assign m_axi_awvalid = job_q != J_NONE && !aw_done_q;
  assign m_axi_awaddr = job_addr_q;
  assign m_axi_awlen = job_q == J_DATA ? 8'(w_last_q) : 8'd0;
  assign m_axi_wvalid = job_q != J_NONE && !w_done_q;
  assign m_axi_wlast = w_beat_q == w_last_q;
  always_comb begin
    m_axi_wdata = job_word_q;
    m_axi_wstrb = job_strb_q;
    if (job_q == J_DATA) begin
      m_axi_wdata = msg_buf[w_beat_q[MB_W-1:0]];
      m_axi_wstrb = m_axi_wlast ? msg_keep_q : 8'hFF;
    end
  end
  assign aw_fire = m_axi_awvalid && m_axi_awready;
  assign w_fire = m_axi_wvalid && m_axi_wready;
  assign b_fire = m_axi_bvalid && m_axi_bready;
  assign job_end = job_q != J_NONE && (aw_done_q || aw_fire) &&
                   (w_done_q || (w_fire && m_axi_wlast));

  always_ff @(posedge clk) begin
    // collector
    if (h_fire) begin
      if (col_beat_q < (MB_W + 1)'(MSG_BEATS)) msg_buf[col_beat_q[MB_W-1:0]] <= s_host_tdata;
      col_beat_q <= col_beat_q + 1'b1;
      if (s_host_tlast) begin
        col_beat_q <= '0;
        msg_ready_q <= 1'b1;
        msg_last_q <= col_beat_q;
        msg_keep_q <= s_host_tkeep;
        msg_bytes_q <= 16'({col_beat_q, 3'd0}) + 16'(dvmm_pkg::keep_bytes(s_host_tkeep));
      end
    end

    // B responses (ID 0: in order)
    if (aw_fire && !b_fire) bout_q <= bout_q + 1'b1;
    if (b_fire && !aw_fire) bout_q <= bout_q - 1'b1;

    // the job in progress
    if (aw_fire) aw_done_q <= 1'b1;
    if (w_fire) begin
      w_beat_q <= w_beat_q + 1'b1;
      if (m_axi_wlast) w_done_q <= 1'b1;
    end
    if (job_end) begin
      job_q <= J_NONE;
      if (!job_stale_q) begin
        unique case (job_q)
          J_DATA: msg_data_done_q <= 1'b1;
          J_HDR: begin
            msg_ready_q <= 1'b0;
            msg_data_done_q <= 1'b0;
            rx_prod_q <= rx_prod_q + 32'd1;
          end
          J_WB: begin
            wb_tx_q <= job_word_q[31:0];
            wb_rx_q <= job_word_q[63:32];
          end
          default: ;
        endcase
      end
    end

    // a new job
    if (next_job != J_NONE) begin
      job_q <= next_job;
      aw_done_q <= 1'b0;
      w_done_q <= 1'b0;
      w_beat_q <= '0;
      w_last_q <= '0;
      job_stale_q <= 1'b0;
      job_strb_q <= 8'hFF;
      unique case (next_job)
        J_HDR: begin
          job_addr_q <= slot_addr;
          job_word_q <= {32'd0, 16'(rx_prod_q + 32'd1), msg_bytes_q};
        end
        J_DMA: begin
          job_addr_q <= {s_dma_addr[63:3], 3'd0};
          job_word_q <= 64'd1 << {s_dma_addr[2:0], 3'd0};
          job_strb_q <= 8'd1 << s_dma_addr[2:0];
        end
        J_DATA: begin
          job_addr_q <= slot_addr + 64'(MSG_OFFSET);
          w_last_q <= msg_last_q;
        end
        J_WB: begin
          job_addr_q <= wb_addr;
          job_word_q <= {rx_prod_q, cons_q};
        end
        default: ;
      endcase
    end

    if (rrst) begin
      col_beat_q <= '0;
      msg_ready_q <= 1'b0;
      msg_data_done_q <= 1'b0;
      rx_prod_q <= '0;
      wb_tx_q <= '0;
      wb_rx_q <= '0;
      // A job in flight completes on the bus but changes no ring state.
      if (job_q != J_NONE) job_stale_q <= 1'b1;
    end
    if (rst) begin
      job_q <= J_NONE;
      bout_q <= '0;
    end
  end

  // ==== errors ====
  logic index_bad, resp_bad;
  assign index_bad = hdr_bad || (tx_on && ahead > {16'd0, txr_size}) ||
                     (rx_on && (rx_prod_q - rxr_cons) > {16'd0, rxr_slots});
  assign resp_bad = (r_fire && m_axi_rresp != 2'b00) || (b_fire && m_axi_bresp != 2'b00);
  always_ff @(posedge clk) begin
    if (index_bad) err_index_q <= 1'b1;
    if (geom_bad) err_geom_q <= 1'b1;
    if (resp_bad) err_resp_q <= 1'b1;
    if (rrst) begin
      err_index_q <= 1'b0;
      err_geom_q <= 1'b0;
      err_resp_q <= 1'b0;
    end
  end

  assign txr_cons = cons_q;
  assign rxr_prod = rx_prod_q;
  // Work that will make progress without the host (a descriptor held by a
  // full window, or a message held by a full RX ring, does not count), and
  // every transaction still in flight.
  assign busy = rd_busy_q || job_q != J_NONE || bout_q != 8'd0 ||
                (!rrst && !halted && (can_fetch || hdr_take || msg_ready_q ||
                                      col_beat_q != '0 || h_fire || s_dma_valid || wb_pending));

`ifndef SYNTHESIS
  initial begin
    if (MSG_BEATS * 8 != MAX_MSG_BYTES || (1 << MB_W) != MSG_BEATS || MAX_MSG_BYTES < 64 ||
        MAX_MSG_BYTES > 2048)
      $fatal(1, "dvmm_host_rings: MAX_MSG_BYTES must be a power of 2, 64 .. 2048");
    if ((1 << FA_W) != FIFO_WORDS || FIFO_WORDS < 2 * BURST)
      $fatal(1, "dvmm_host_rings: FIFO_WORDS must be a power of 2 >= 32");
  end
  always_ff @(posedge clk) begin
    if (!rrst) begin
      assert (!(h_fire && col_beat_q >= (MB_W + 1)'(MSG_BEATS)))
      else $error("host_rings: a message longer than MAX_MSG_BYTES from the engine");
    end
  end
`endif
endmodule

`default_nettype wire
