// dvmm_link_state: the go-back-N state of every link (one per destination
// node), the engine's counterpart of dataplane/reliable_link.cpp:
//   send side    next sequence number to give out (tx_next), oldest
//                unacknowledged (tx_unacked), next to transmit (tx_send),
//                each with its slot in the node's retransmit ring; a
//                retransmit timer per link
//   receive side next in-order sequence number expected (rx_next; the
//                cumulative ack sent is the one before it, or 0 while
//                nothing has arrived), whether an ack is owed and its delay
// and the transmit scheduler, which picks (round robin) a link with a frame
// to (re)send or an ACK due, and offers it to the framer.
//
// Differences from the software: a fixed retransmit timeout (no RTT
// estimate or back-off; the host programs RETX_TIMEOUT), and frames that
// arrive ahead of a gap are dropped rather than buffered (the sender's
// go-back-N resends them).
//
// Slots: the ring index of a message is tracked beside its sequence number
// because wire numbers skip 0 at the wrap, so seq % WINDOW would collide.
`default_nettype none

module dvmm_link_state #(
    parameter int NODES = 4,   // links (destination nodes)
    parameter int WINDOW = 8,  // unacknowledged messages per link, power of 2
    // Sequence number of every link's first message; every node of a
    // cluster must use the same. Tests start near 2^32 to cover the wrap
    // (as ReliableLink::Config::first_seq).
    parameter logic [31:0] FIRST_SEQ = 32'd1,
    localparam int NODE_W = $clog2(NODES),
    localparam int SLOT_W = $clog2(WINDOW)
) (
    input  wire logic              clk,
    input  wire logic              rst,
    input  wire logic [31:0]       retx_timeout,   // cycles
    input  wire logic [31:0]       ack_delay,      // cycles
    // allocation of the next sequence number on a link (TX descriptors)
    input  wire logic [NODE_W-1:0] alloc_node,
    output logic                   alloc_space,    // the window has room
    output logic      [31:0]       alloc_seq,
    output logic      [SLOT_W-1:0] alloc_slot,
    input  wire logic              alloc_commit,   // message written: give it out
    // transmit scheduler -> framer
    output logic                   sched_valid,
    output logic      [NODE_W-1:0] sched_node,
    output logic                   sched_ack_only, // an ACK frame, no data
    output logic      [31:0]       sched_seq,
    output logic      [SLOT_W-1:0] sched_slot,
    output logic      [31:0]       sched_ack,      // cumulative ack to carry
    input  wire logic              sched_take,     // framer starts this frame
    // cumulative ack received from a node (any well-formed frame)
    input  wire logic              ack_valid,
    input  wire logic [NODE_W-1:0] ack_node,
    input  wire logic [31:0]       ack_value,
    // receive sequence check
    input  wire logic [NODE_W-1:0] rx_node,
    output logic      [31:0]       rx_expected,
    input  wire logic              rx_accept,      // rx_expected arrived in order
    input  wire logic              rx_reject,      // anything else: ack at once
    // status
    output logic                   ev_timeout,     // a link went back N
    output logic                   idle            // nothing unacknowledged, no ack owed
);
  logic [31:0] tx_next_q [0:NODES-1], tx_next_d [0:NODES-1];
  logic [31:0] tx_unacked_q [0:NODES-1], tx_unacked_d [0:NODES-1];
  logic [31:0] tx_send_q [0:NODES-1], tx_send_d [0:NODES-1];
  logic [SLOT_W-1:0] next_slot_q [0:NODES-1], next_slot_d [0:NODES-1];
  logic [SLOT_W-1:0] unacked_slot_q [0:NODES-1], unacked_slot_d [0:NODES-1];
  logic [SLOT_W-1:0] send_slot_q [0:NODES-1], send_slot_d [0:NODES-1];
  logic [31:0] rto_cnt_q [0:NODES-1], rto_cnt_d [0:NODES-1];
  logic [31:0] rx_next_q [0:NODES-1], rx_next_d [0:NODES-1];
  logic ack_pend_q [0:NODES-1], ack_pend_d [0:NODES-1];
  logic ack_now_q [0:NODES-1], ack_now_d [0:NODES-1];
  logic [31:0] ack_cnt_q [0:NODES-1], ack_cnt_d [0:NODES-1];
  logic [NODE_W-1:0] rr_q, rr_d;

  // ---- ports that read one link ----
  always_comb begin
    alloc_space = dvmm_pkg::seq_dist(tx_unacked_q[alloc_node], tx_next_q[alloc_node]) < WINDOW;
    alloc_seq = tx_next_q[alloc_node];
    alloc_slot = next_slot_q[alloc_node];
    rx_expected = rx_next_q[rx_node];
  end

  // ---- scheduler: first link at or after rr_q with work ----
  logic has_data [0:NODES-1];
  logic ack_due [0:NODES-1];
  logic [NODE_W:0] idx;  // scheduler temporary
  always_comb begin
    idx = '0;
    sched_valid = 1'b0;
    sched_node = '0;
    for (int n = 0; n < NODES; n++) begin
      has_data[n] = tx_send_q[n] != tx_next_q[n];
      ack_due[n] = ack_pend_q[n] && (ack_now_q[n] || ack_cnt_q[n] >= ack_delay);
    end
    for (int i = NODES - 1; i >= 0; i--) begin
      idx = {1'b0, rr_q} + (NODE_W + 1)'(i);
      if (idx >= (NODE_W + 1)'(NODES)) idx = idx - (NODE_W + 1)'(NODES);
      if (has_data[idx[NODE_W-1:0]] || ack_due[idx[NODE_W-1:0]]) begin
        sched_valid = 1'b1;
        sched_node = idx[NODE_W-1:0];
      end
    end
    sched_ack_only = !has_data[sched_node];
    sched_seq = sched_ack_only ? 32'd0 : tx_send_q[sched_node];
    sched_slot = send_slot_q[sched_node];
    sched_ack = rx_next_q[sched_node] == FIRST_SEQ ? 32'd0
                                                   : dvmm_pkg::seq_dec(rx_next_q[sched_node]);
  end

  // ---- next state, per link: allocation, transmission, ack, receive, timers ----
  logic [31:0] d;   // next-state temporaries
  logic touched;
  always_comb begin
    d = 32'd0;
    touched = 1'b0;
    ev_timeout = 1'b0;
    idle = 1'b1;
    rr_d = rr_q;
    if (sched_take) rr_d = (sched_node == NODE_W'(NODES - 1)) ? '0 : sched_node + 1'b1;
    for (int n = 0; n < NODES; n++) begin
      tx_next_d[n] = tx_next_q[n];
      tx_unacked_d[n] = tx_unacked_q[n];
      tx_send_d[n] = tx_send_q[n];
      next_slot_d[n] = next_slot_q[n];
      unacked_slot_d[n] = unacked_slot_q[n];
      send_slot_d[n] = send_slot_q[n];
      rto_cnt_d[n] = rto_cnt_q[n];
      rx_next_d[n] = rx_next_q[n];
      ack_pend_d[n] = ack_pend_q[n];
      ack_now_d[n] = ack_now_q[n];
      ack_cnt_d[n] = ack_cnt_q[n];
      touched = 1'b0;

      if (alloc_commit && alloc_node == NODE_W'(n)) begin
        tx_next_d[n] = dvmm_pkg::seq_inc(tx_next_q[n]);
        next_slot_d[n] = next_slot_q[n] + 1'b1;
      end

      if (sched_take && sched_node == NODE_W'(n)) begin
        touched = 1'b1;
        if (!sched_ack_only) begin
          tx_send_d[n] = dvmm_pkg::seq_inc(tx_send_q[n]);
          send_slot_d[n] = send_slot_q[n] + 1'b1;
          // The timer runs from the oldest frame's (re)transmission.
          if (tx_send_q[n] == tx_unacked_q[n]) rto_cnt_d[n] = 32'd0;
        end
        // Every frame carries the current cumulative ack.
        ack_pend_d[n] = 1'b0;
        ack_now_d[n] = 1'b0;
        ack_cnt_d[n] = 32'd0;
      end

      // A cumulative ack frees every slot up to it; one for something not
      // yet given out, or old news, is ignored.
      if (ack_valid && ack_node == NODE_W'(n) && ack_value != 32'd0 &&
          tx_unacked_q[n] != tx_next_q[n]) begin
        d = dvmm_pkg::seq_dist(tx_unacked_q[n], ack_value);
        if (d < dvmm_pkg::seq_dist(tx_unacked_q[n], tx_next_q[n])) begin
          touched = 1'b1;
          tx_unacked_d[n] = dvmm_pkg::seq_inc(ack_value);
          unacked_slot_d[n] = unacked_slot_q[n] + SLOT_W'(d) + 1'b1;
          rto_cnt_d[n] = 32'd0;
          // After a rewind the send pointer may lie behind the new oldest.
          if (dvmm_pkg::seq_dist(tx_unacked_q[n], tx_send_d[n]) <= d) begin
            tx_send_d[n] = tx_unacked_d[n];
            send_slot_d[n] = unacked_slot_d[n];
          end
        end
      end

      if (rx_accept && rx_node == NODE_W'(n)) begin
        rx_next_d[n] = dvmm_pkg::seq_inc(rx_next_q[n]);
        if (!ack_pend_d[n]) begin
          ack_pend_d[n] = 1'b1;
          ack_cnt_d[n] = 32'd0;
        end
      end
      if (rx_reject && rx_node == NODE_W'(n)) begin
        // A duplicate means our ack was lost; a gap means the peer must go
        // back: either way tell it at once.
        ack_pend_d[n] = 1'b1;
        ack_now_d[n] = 1'b1;
      end

      if (tx_unacked_q[n] == tx_next_q[n]) begin
        rto_cnt_d[n] = 32'd0;
      end else if (!touched) begin
        if (rto_cnt_q[n] >= retx_timeout) begin
          // Go-back-N: resend everything from the oldest unacknowledged.
          tx_send_d[n] = tx_unacked_q[n];
          send_slot_d[n] = unacked_slot_q[n];
          rto_cnt_d[n] = 32'd0;
          if (tx_send_q[n] != tx_unacked_q[n]) ev_timeout = 1'b1;
        end else begin
          rto_cnt_d[n] = rto_cnt_q[n] + 32'd1;
        end
      end
      if (ack_pend_q[n] && !touched && ack_cnt_q[n] < ack_delay)
        ack_cnt_d[n] = ack_cnt_q[n] + 32'd1;

      if (tx_unacked_q[n] != tx_next_q[n] || ack_pend_q[n]) idle = 1'b0;
    end
  end

  always_ff @(posedge clk) begin
    for (int n = 0; n < NODES; n++) begin
      tx_next_q[n] <= tx_next_d[n];
      tx_unacked_q[n] <= tx_unacked_d[n];
      tx_send_q[n] <= tx_send_d[n];
      next_slot_q[n] <= next_slot_d[n];
      unacked_slot_q[n] <= unacked_slot_d[n];
      send_slot_q[n] <= send_slot_d[n];
      rto_cnt_q[n] <= rto_cnt_d[n];
      rx_next_q[n] <= rx_next_d[n];
      ack_pend_q[n] <= ack_pend_d[n];
      ack_now_q[n] <= ack_now_d[n];
      ack_cnt_q[n] <= ack_cnt_d[n];
    end
    rr_q <= rr_d;
    if (rst) begin
      for (int n = 0; n < NODES; n++) begin
        tx_next_q[n] <= FIRST_SEQ;
        tx_unacked_q[n] <= FIRST_SEQ;
        tx_send_q[n] <= FIRST_SEQ;
        next_slot_q[n] <= '0;
        unacked_slot_q[n] <= '0;
        send_slot_q[n] <= '0;
        rto_cnt_q[n] <= 32'd0;
        rx_next_q[n] <= FIRST_SEQ;
        ack_pend_q[n] <= 1'b0;
        ack_now_q[n] <= 1'b0;
        ack_cnt_q[n] <= 32'd0;
      end
      rr_q <= '0;
    end
  end

`ifndef SYNTHESIS
  initial begin
    if ((1 << SLOT_W) != WINDOW || WINDOW < 2) $fatal(1, "dvmm_link_state: WINDOW must be a power of 2 >= 2");
    if ((1 << NODE_W) < NODES || NODES < 2) $fatal(1, "dvmm_link_state: NODES must be >= 2");
  end
  // The window never holds more than WINDOW messages.
  always_ff @(posedge clk)
    if (!rst && alloc_commit) assert (alloc_space) else $error("link_state: commit without space");
`endif
endmodule

`default_nettype wire
