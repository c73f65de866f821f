//! Fuzz target `decode`: arbitrary bytes into the packet decoder.
//!
//! The decoder must never panic, whatever a UDP socket hands it. When it
//! accepts a datagram, the packet must be canonical: re-encoding gives back the
//! exact input bytes, and decoding those again gives back the same packet. The
//! same properties run (with a bounded number of cases) in
//! `tests/packet_props.rs` under `cargo test`.

#![no_main]

use channel_node::transport::packet::{DecodeError, Packet, MAX_DATAGRAM_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Packet::decode(data) {
        Ok(packet) => {
            assert!(data.len() <= MAX_DATAGRAM_SIZE);
            let bytes = packet.encode().expect("an accepted packet re-encodes");
            assert_eq!(bytes, data, "accepted input is not canonical");
            let again = Packet::decode(&bytes).expect("re-encoded packet decodes");
            assert_eq!(again, packet, "decode/encode round trip changed the packet");
        }
        Err(error) => {
            assert!(DecodeError::LABELS.contains(&error.label()));
            // The Display impl must not panic either (it is logged).
            let _ = error.to_string();
        }
    }
});
