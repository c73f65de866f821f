//! The wire format: one UDP datagram is one [`Packet`].
//!
//! This module is pure protocol state, kept apart from any I/O (the same split
//! quinn makes between `quinn-proto` and `quinn`): it turns bytes into values
//! and values into bytes, and nothing else. That makes it easy to test
//! exhaustively (see the proptest suite in `tests/packet_props.rs`) and keeps
//! the listener loop free of parsing details.
//!
//! Every datagram starts with a fixed 20-byte header, all integers big-endian:
//!
//! ```text
//!  0        1        2                10       14         16         18         20
//!  +--------+--------+----------------+--------+----------+----------+----------+---------+
//!  |version |  kind  | connection id  |  seq   | frag idx | frag cnt | pay. len | payload |
//!  |   u8   |   u8   |      u64       |  u32   |   u16    |   u16    |   u16    |  bytes  |
//!  +--------+--------+----------------+--------+----------+----------+----------+---------+
//! ```
//!
//! Decoding checks every length and field before trusting it: a malformed
//! datagram is returned as a [`DecodeError`] value (which the listener counts
//! in the metrics), never a panic and never an out-of-bounds slice.
//!
//! Application messages larger than one datagram are split by
//! [`fragment_message`] into up to [`MAX_FRAGMENTS`] `Data` packets that share
//! a sequence number; the peer task reassembles them.

use std::fmt;

/// The protocol version this node speaks. Datagrams with another version are rejected.
pub const VERSION: u8 = 1;

/// Largest datagram we ever send. 1200 bytes fits in the minimum IPv6 MTU
/// (1280) minus IP/UDP headers, so it never needs IP fragmentation.
pub const MAX_DATAGRAM_SIZE: usize = 1200;

/// Size of the fixed header in front of every payload.
pub const HEADER_LEN: usize = 20;

/// Largest payload one datagram can carry.
pub const MAX_FRAGMENT_PAYLOAD: usize = MAX_DATAGRAM_SIZE - HEADER_LEN;

/// Largest number of fragments one message may be split into.
pub const MAX_FRAGMENTS: u16 = 256;

/// Largest application message, in bytes (256 * 1180 = 302,080).
pub const MAX_MESSAGE_SIZE: usize = MAX_FRAGMENT_PAYLOAD * MAX_FRAGMENTS as usize;

/// What a datagram is for. The listener routes on this field alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketKind {
    /// Client → gateway: please accept me (gateway handshake path).
    Hello = 1,
    /// Gateway → client: accepted; the payload lists other known peers.
    Welcome = 2,
    /// Hole-punching probe to a peer (NAT traversal path).
    Punch = 3,
    /// Answer to a [`PacketKind::Punch`] (NAT traversal path).
    PunchAck = 4,
    /// One fragment of an application message (established path).
    Data = 5,
    /// Acknowledges a whole message, by sequence number (established path).
    Ack = 6,
    /// Keeps an idle connection alive (established path).
    KeepAlive = 7,
    /// The sender is closing the connection (established path).
    Close = 8,
}

impl PacketKind {
    /// Every kind, in wire order (handy for tests).
    pub const ALL: [PacketKind; 8] = [
        PacketKind::Hello,
        PacketKind::Welcome,
        PacketKind::Punch,
        PacketKind::PunchAck,
        PacketKind::Data,
        PacketKind::Ack,
        PacketKind::KeepAlive,
        PacketKind::Close,
    ];

    fn from_u8(value: u8) -> Option<PacketKind> {
        PacketKind::ALL.iter().copied().find(|k| *k as u8 == value)
    }
}

/// The fixed header of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// What the packet is for.
    pub kind: PacketKind,
    /// Chosen by whoever opened the connection; echoed in every packet.
    pub conn_id: u64,
    /// Message sequence number (`Data`, `Ack`); 0 otherwise.
    pub seq: u32,
    /// Index of this fragment within its message, `< frag_count`.
    pub frag_index: u16,
    /// Number of fragments of the message (1 for every non-`Data` packet).
    pub frag_count: u16,
}

/// A decoded datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The header fields.
    pub header: Header,
    /// The payload bytes (at most [`MAX_FRAGMENT_PAYLOAD`]).
    pub payload: Vec<u8>,
}

/// Why a datagram could not be decoded. Each variant is a metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than a header.
    TooShort { len: usize },
    /// More bytes than [`MAX_DATAGRAM_SIZE`].
    TooLong { len: usize },
    /// A version we do not speak.
    UnsupportedVersion(u8),
    /// A kind byte we do not know.
    UnknownKind(u8),
    /// The header's payload length disagrees with the datagram's length.
    LengthMismatch { declared: usize, actual: usize },
    /// Fragment index/count out of range (or fragments on a non-`Data` packet).
    InvalidFragment { index: u16, count: u16 },
}

impl DecodeError {
    /// Every metrics label, in a fixed order (see [`DecodeError::label_index`]).
    pub const LABELS: [&'static str; 6] = [
        "too_short",
        "too_long",
        "unsupported_version",
        "unknown_kind",
        "length_mismatch",
        "invalid_fragment",
    ];

    /// Position of this error's label in [`DecodeError::LABELS`].
    pub fn label_index(&self) -> usize {
        match self {
            DecodeError::TooShort { .. } => 0,
            DecodeError::TooLong { .. } => 1,
            DecodeError::UnsupportedVersion(_) => 2,
            DecodeError::UnknownKind(_) => 3,
            DecodeError::LengthMismatch { .. } => 4,
            DecodeError::InvalidFragment { .. } => 5,
        }
    }

    /// The Prometheus label value for this error.
    pub fn label(&self) -> &'static str {
        DecodeError::LABELS[self.label_index()]
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooShort { len } => write!(
                f,
                "datagram of {len} bytes is shorter than the {HEADER_LEN}-byte header"
            ),
            DecodeError::TooLong { len } => {
                write!(f, "datagram of {len} bytes exceeds {MAX_DATAGRAM_SIZE}")
            }
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported protocol version {v}"),
            DecodeError::UnknownKind(k) => write!(f, "unknown packet kind {k}"),
            DecodeError::LengthMismatch { declared, actual } => {
                write!(
                    f,
                    "header declares {declared} payload bytes, datagram has {actual}"
                )
            }
            DecodeError::InvalidFragment { index, count } => {
                write!(f, "invalid fragment {index}/{count}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a packet or message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The payload does not fit in one datagram.
    PayloadTooLarge { len: usize },
    /// The message would need more than [`MAX_FRAGMENTS`] fragments.
    MessageTooLarge { len: usize },
    /// Fragment fields out of range.
    InvalidFragment { index: u16, count: u16 },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::PayloadTooLarge { len } => {
                write!(f, "payload of {len} bytes exceeds {MAX_FRAGMENT_PAYLOAD}")
            }
            EncodeError::MessageTooLarge { len } => {
                write!(f, "message of {len} bytes exceeds {MAX_MESSAGE_SIZE}")
            }
            EncodeError::InvalidFragment { index, count } => {
                write!(f, "invalid fragment {index}/{count}")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

impl Packet {
    /// A packet that is not part of a fragmented message (`frag 0/1`).
    pub fn control(kind: PacketKind, conn_id: u64, seq: u32, payload: Vec<u8>) -> Packet {
        Packet {
            header: Header {
                kind,
                conn_id,
                seq,
                frag_index: 0,
                frag_count: 1,
            },
            payload,
        }
    }

    /// The packet's kind.
    pub fn kind(&self) -> PacketKind {
        self.header.kind
    }

    /// Appends the wire form of this packet to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let h = &self.header;
        if self.payload.len() > MAX_FRAGMENT_PAYLOAD {
            return Err(EncodeError::PayloadTooLarge {
                len: self.payload.len(),
            });
        }
        if !fragment_fields_valid(h.kind, h.frag_index, h.frag_count) {
            return Err(EncodeError::InvalidFragment {
                index: h.frag_index,
                count: h.frag_count,
            });
        }
        out.reserve(HEADER_LEN + self.payload.len());
        out.push(VERSION);
        out.push(h.kind as u8);
        out.extend_from_slice(&h.conn_id.to_be_bytes());
        out.extend_from_slice(&h.seq.to_be_bytes());
        out.extend_from_slice(&h.frag_index.to_be_bytes());
        out.extend_from_slice(&h.frag_count.to_be_bytes());
        // Cannot truncate: checked against MAX_FRAGMENT_PAYLOAD (< u16::MAX) above.
        out.extend_from_slice(&(self.payload.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.payload);
        Ok(())
    }

    /// The wire form of this packet as a fresh buffer.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Parses one datagram. Never panics, whatever the input.
    pub fn decode(datagram: &[u8]) -> Result<Packet, DecodeError> {
        let len = datagram.len();
        if len > MAX_DATAGRAM_SIZE {
            return Err(DecodeError::TooLong { len });
        }
        // `split_first_chunk` style parsing: every read is length-checked by the type system.
        let Some((header, payload)) = datagram.split_first_chunk::<HEADER_LEN>() else {
            return Err(DecodeError::TooShort { len });
        };
        let version = header[0];
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let kind = PacketKind::from_u8(header[1]).ok_or(DecodeError::UnknownKind(header[1]))?;
        let conn_id = u64::from_be_bytes(field(header, 2));
        let seq = u32::from_be_bytes(field(header, 10));
        let frag_index = u16::from_be_bytes(field(header, 14));
        let frag_count = u16::from_be_bytes(field(header, 16));
        let declared = usize::from(u16::from_be_bytes(field(header, 18)));
        if declared != payload.len() {
            return Err(DecodeError::LengthMismatch {
                declared,
                actual: payload.len(),
            });
        }
        if !fragment_fields_valid(kind, frag_index, frag_count) {
            return Err(DecodeError::InvalidFragment {
                index: frag_index,
                count: frag_count,
            });
        }
        Ok(Packet {
            header: Header {
                kind,
                conn_id,
                seq,
                frag_index,
                frag_count,
            },
            payload: payload.to_vec(),
        })
    }
}

/// Copies `N` header bytes starting at `at` into an array (the header has a fixed size,
/// so the offsets used above are always in range; `get` keeps it panic-free regardless).
fn field<const N: usize>(header: &[u8; HEADER_LEN], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = header.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

fn fragment_fields_valid(kind: PacketKind, index: u16, count: u16) -> bool {
    match kind {
        PacketKind::Data => (1..=MAX_FRAGMENTS).contains(&count) && index < count,
        _ => index == 0 && count == 1,
    }
}

/// Splits an application message into `Data` packets of at most
/// [`MAX_FRAGMENT_PAYLOAD`] bytes each, all carrying `seq`. An empty message
/// is one empty fragment.
pub fn fragment_message(
    conn_id: u64,
    seq: u32,
    message: &[u8],
) -> Result<Vec<Packet>, EncodeError> {
    if message.len() > MAX_MESSAGE_SIZE {
        return Err(EncodeError::MessageTooLarge { len: message.len() });
    }
    let count = message.len().div_ceil(MAX_FRAGMENT_PAYLOAD).max(1);
    // Cannot truncate: count <= MAX_FRAGMENTS because of the size check above.
    let count = count as u16;
    let packets = (0..count)
        .map(|index| {
            let start = usize::from(index) * MAX_FRAGMENT_PAYLOAD;
            let end = (start + MAX_FRAGMENT_PAYLOAD).min(message.len());
            Packet {
                header: Header {
                    kind: PacketKind::Data,
                    conn_id,
                    seq,
                    frag_index: index,
                    frag_count: count,
                },
                payload: message.get(start..end).unwrap_or_default().to_vec(),
            }
        })
        .collect();
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_packet_round_trips() {
        let p = Packet::control(PacketKind::Hello, 0xdead_beef, 7, b"hi".to_vec());
        let bytes = p.encode().unwrap();
        assert_eq!(bytes.len(), HEADER_LEN + 2);
        assert_eq!(Packet::decode(&bytes).unwrap(), p);
    }

    #[test]
    fn rejects_each_kind_of_malformed_datagram() {
        let good = Packet::control(PacketKind::Ack, 1, 2, vec![])
            .encode()
            .unwrap();
        assert_eq!(
            Packet::decode(&good[..5]),
            Err(DecodeError::TooShort { len: 5 })
        );
        assert_eq!(
            Packet::decode(&vec![0u8; MAX_DATAGRAM_SIZE + 1]),
            Err(DecodeError::TooLong {
                len: MAX_DATAGRAM_SIZE + 1
            })
        );
        let mut bad = good.clone();
        bad[0] = 9;
        assert_eq!(
            Packet::decode(&bad),
            Err(DecodeError::UnsupportedVersion(9))
        );
        let mut bad = good.clone();
        bad[1] = 200;
        assert_eq!(Packet::decode(&bad), Err(DecodeError::UnknownKind(200)));
        let mut bad = good.clone();
        bad.push(0);
        assert_eq!(
            Packet::decode(&bad),
            Err(DecodeError::LengthMismatch {
                declared: 0,
                actual: 1
            })
        );
        let mut bad = good;
        bad[17] = 2; // frag_count = 2 on an Ack
        assert_eq!(
            Packet::decode(&bad),
            Err(DecodeError::InvalidFragment { index: 0, count: 2 })
        );
    }

    #[test]
    fn fragments_cover_the_message_exactly() {
        let msg: Vec<u8> = (0..(MAX_FRAGMENT_PAYLOAD * 2 + 10))
            .map(|i| i as u8)
            .collect();
        let frags = fragment_message(3, 4, &msg).unwrap();
        assert_eq!(frags.len(), 3);
        let joined: Vec<u8> = frags.iter().flat_map(|p| p.payload.clone()).collect();
        assert_eq!(joined, msg);
        for f in &frags {
            assert!(f.encode().unwrap().len() <= MAX_DATAGRAM_SIZE);
        }
        assert_eq!(fragment_message(3, 4, &[]).unwrap().len(), 1);
        assert!(fragment_message(3, 4, &vec![0; MAX_MESSAGE_SIZE + 1]).is_err());
        assert_eq!(
            fragment_message(3, 4, &vec![0; MAX_MESSAGE_SIZE])
                .unwrap()
                .len(),
            256
        );
    }
}
