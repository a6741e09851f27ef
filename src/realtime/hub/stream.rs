//! One ticket's seq stream on this node: the seq delivered in order so far, and
//! the frames that arrived ahead of a gap. Pure: the hub feeds it what arrives
//! and sends what it returns.

use crate::realtime::frame::Frame;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct SeqStream {
    /// Highest seq delivered in order; `None` until the stream is started.
    delivered: Option<i64>,
    /// Frames that arrived ahead of a gap (or before the start).
    held: BTreeMap<i64, Arc<Frame>>,
}

impl SeqStream {
    pub fn delivered(&self) -> Option<i64> {
        self.delivered
    }

    /// The stream continues after `last_seq` (the store's, read once the
    /// subscription was in place): frames up to it are in the store already, and
    /// what was held past it is returned if it follows on.
    pub fn start(&mut self, last_seq: i64) -> Vec<Arc<Frame>> {
        if self.delivered.is_some() {
            return Vec::new();
        }
        self.delivered = Some(last_seq);
        self.held = self.held.split_off(&(last_seq + 1));
        self.ready()
    }

    /// A stored message's frame arrived: a seq already delivered (or held) is
    /// dropped; the next one goes out with whatever was held behind it; one past
    /// a gap is held.
    pub fn offer(&mut self, seq: i64, frame: Arc<Frame>) -> Vec<Arc<Frame>> {
        if self.delivered.is_some_and(|delivered| seq <= delivered) {
            return Vec::new();
        }
        self.held.entry(seq).or_insert(frame);
        self.ready()
    }

    /// Whether a frame waits behind a missing seq.
    pub fn has_gap(&self) -> bool {
        self.delivered.is_some() && !self.held.is_empty()
    }

    /// Whether the store has seqs this node has not delivered.
    pub fn is_behind(&self, stored_last_seq: i64) -> bool {
        self.delivered
            .is_some_and(|delivered| delivered < stored_last_seq)
    }

    /// Takes the held frames that continue the stream, in order.
    fn ready(&mut self) -> Vec<Arc<Frame>> {
        let Some(mut delivered) = self.delivered else {
            return Vec::new();
        };
        let mut ready = Vec::new();
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() != delivered + 1 {
                break;
            }
            let (seq, frame) = entry.remove_entry();
            delivered = seq;
            ready.push(frame);
        }
        self.delivered = Some(delivered);
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::protocol::FrameKind;

    fn frame(seq: i64) -> Arc<Frame> {
        Arc::new(Frame {
            seq: Some(seq),
            kind: FrameKind::Message,
            stored_at: None,
            text: format!("{seq}").into(),
            for_visitor: crate::realtime::frame::ForVisitor::Same,
        })
    }

    fn seqs(frames: &[Arc<Frame>]) -> Vec<i64> {
        frames.iter().filter_map(|f| f.seq).collect()
    }

    #[test]
    fn frames_in_order_go_straight_out() {
        let mut stream = SeqStream::default();
        assert!(stream.start(3).is_empty());
        assert_eq!(seqs(&stream.offer(4, frame(4))), [4]);
        assert_eq!(seqs(&stream.offer(5, frame(5))), [5]);
        assert_eq!(stream.delivered(), Some(5));
        assert!(!stream.has_gap());
    }

    #[test]
    fn duplicates_and_seqs_already_delivered_are_dropped() {
        let mut stream = SeqStream::default();
        stream.start(3);
        assert!(
            stream.offer(3, frame(3)).is_empty(),
            "in the store before the start"
        );
        assert_eq!(seqs(&stream.offer(4, frame(4))), [4]);
        assert!(stream.offer(4, frame(4)).is_empty(), "a second copy");
        assert!(stream.offer(2, frame(2)).is_empty(), "an old one");
    }

    #[test]
    fn a_frame_past_a_gap_waits_until_the_gap_is_filled_then_all_go_in_order() {
        let mut stream = SeqStream::default();
        stream.start(0);
        assert!(stream.offer(3, frame(3)).is_empty());
        assert!(stream.offer(5, frame(5)).is_empty());
        assert!(stream.has_gap());
        assert!(stream.is_behind(5));
        // A refill brings 1 and 2: 1, 2, 3 go; 5 still waits for 4.
        assert_eq!(seqs(&stream.offer(1, frame(1))), [1]);
        assert_eq!(seqs(&stream.offer(2, frame(2))), [2, 3]);
        assert!(stream.has_gap());
        assert_eq!(seqs(&stream.offer(4, frame(4))), [4, 5]);
        assert!(!stream.has_gap());
        assert!(!stream.is_behind(5));
    }

    #[test]
    fn frames_before_the_start_are_held_and_those_in_the_store_dropped_at_it() {
        let mut stream = SeqStream::default();
        assert!(stream.offer(2, frame(2)).is_empty());
        assert!(stream.offer(4, frame(4)).is_empty());
        assert!(!stream.has_gap(), "not started: nothing to refill yet");
        assert!(
            !stream.is_behind(9),
            "not started: nothing delivered to compare"
        );
        assert_eq!(seqs(&stream.start(3)), [4]);
        assert!(stream.start(1).is_empty(), "a second start changes nothing");
        assert_eq!(stream.delivered(), Some(4));
    }

    #[test]
    fn a_refill_that_overlaps_what_arrived_meanwhile_sends_each_seq_once() {
        let mut stream = SeqStream::default();
        stream.start(10);
        stream.offer(13, frame(13));
        let mut sent = Vec::new();
        for seq in 11..=14 {
            sent.extend(seqs(&stream.offer(seq, frame(seq))));
        }
        sent.extend(seqs(&stream.offer(13, frame(13))));
        assert_eq!(sent, [11, 12, 13, 14]);
    }
}
