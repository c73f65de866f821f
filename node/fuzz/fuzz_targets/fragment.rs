//! Fuzz target `fragment`: arbitrary messages through the fragmenter and back.
//!
//! A message (the fuzz input, up to a few datagrams long, or longer than the
//! protocol allows) is split with `fragment_message`; every fragment must
//! encode to at most one datagram, decode back to itself, and the payloads,
//! joined in order, must give back the message. Too-large messages must be
//! refused, not split.

#![no_main]

use channel_node::transport::packet::{
    fragment_message, Packet, MAX_DATAGRAM_SIZE, MAX_FRAGMENTS, MAX_MESSAGE_SIZE,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u64, u32, Vec<u8>)| {
    let (conn_id, seq, message) = input;
    let fragments = match fragment_message(conn_id, seq, &message) {
        Ok(fragments) => fragments,
        Err(_) => {
            assert!(message.len() > MAX_MESSAGE_SIZE);
            return;
        }
    };
    assert!(!fragments.is_empty() && fragments.len() <= usize::from(MAX_FRAGMENTS));
    let mut joined = Vec::with_capacity(message.len());
    for (i, fragment) in fragments.iter().enumerate() {
        let bytes = fragment.encode().expect("a fragment encodes");
        assert!(bytes.len() <= MAX_DATAGRAM_SIZE);
        let decoded = Packet::decode(&bytes).expect("a fragment decodes");
        assert_eq!(&decoded, fragment);
        assert_eq!(usize::from(decoded.header.frag_index), i);
        assert_eq!(usize::from(decoded.header.frag_count), fragments.len());
        assert_eq!((decoded.header.conn_id, decoded.header.seq), (conn_id, seq));
        joined.extend_from_slice(&decoded.payload);
    }
    assert_eq!(joined, message);
});
