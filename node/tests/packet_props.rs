//! Property tests of the wire format: the decoder never panics, whatever
//! bytes arrive, and encoding then decoding gives back what was encoded.
//! A UDP socket accepts datagrams from anybody, so "never panics on arbitrary
//! input" is a security property here, not a nicety.

use channel_node::transport::packet::{
    fragment_message, DecodeError, Header, Packet, PacketKind, HEADER_LEN, MAX_DATAGRAM_SIZE,
    MAX_FRAGMENTS, MAX_FRAGMENT_PAYLOAD,
};
use proptest::prelude::*;

fn any_kind() -> impl Strategy<Value = PacketKind> {
    proptest::sample::select(PacketKind::ALL.to_vec())
}

fn valid_packet() -> impl Strategy<Value = Packet> {
    (
        any_kind(),
        any::<u64>(),
        any::<u32>(),
        1..=MAX_FRAGMENTS,
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..=MAX_FRAGMENT_PAYLOAD),
    )
        .prop_map(|(kind, conn_id, seq, count, index, payload)| {
            let (frag_index, frag_count) = if kind == PacketKind::Data {
                (index % count, count)
            } else {
                (0, 1)
            };
            Packet {
                header: Header {
                    kind,
                    conn_id,
                    seq,
                    frag_index,
                    frag_count,
                },
                payload,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn decoder_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1_500)) {
        match Packet::decode(&bytes) {
            Ok(packet) => {
                // Anything accepted is canonical: it re-encodes to the same bytes.
                prop_assert_eq!(packet.encode().unwrap(), bytes);
            }
            Err(error) => {
                prop_assert!(DecodeError::LABELS.contains(&error.label()));
            }
        }
    }

    #[test]
    fn decoder_never_panics_on_corrupted_valid_datagrams(
        packet in valid_packet(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let mut bytes = packet.encode().unwrap();
        for (at, value) in flips {
            let at = at % bytes.len();
            bytes[at] ^= value;
        }
        let keep = cut % (bytes.len() + 1);
        let _ = Packet::decode(&bytes);
        let _ = Packet::decode(&bytes[..keep]);
    }

    #[test]
    fn encode_decode_round_trips(packet in valid_packet()) {
        let bytes = packet.encode().unwrap();
        prop_assert!(bytes.len() <= MAX_DATAGRAM_SIZE);
        prop_assert_eq!(bytes.len(), HEADER_LEN + packet.payload.len());
        prop_assert_eq!(Packet::decode(&bytes).unwrap(), packet);
    }

    #[test]
    fn fragmenting_then_joining_round_trips(
        message in proptest::collection::vec(any::<u8>(), 0..(MAX_FRAGMENT_PAYLOAD * 5)),
        conn_id in any::<u64>(),
        seq in any::<u32>(),
    ) {
        let fragments = fragment_message(conn_id, seq, &message).unwrap();
        let count = fragments.len();
        let mut joined = Vec::new();
        for (i, fragment) in fragments.into_iter().enumerate() {
            let decoded = Packet::decode(&fragment.encode().unwrap()).unwrap();
            prop_assert_eq!(decoded.header.frag_index as usize, i);
            prop_assert_eq!(decoded.header.frag_count as usize, count);
            prop_assert_eq!(decoded.header.seq, seq);
            joined.extend(decoded.payload);
        }
        prop_assert_eq!(joined, message);
    }
}
