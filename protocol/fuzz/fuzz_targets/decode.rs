//! Feeds arbitrary bytes to the frame decoder, as a stream of frames in both directions.
//! Whatever it accepts must encode back to the bytes it came from.
#![no_main]

use darkstar_protocol::{ClientFrame, Decoder, ServerFrame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoder = Decoder::new(64 * 1024);
    let mut at = 0;
    while let Ok(Some((frame, used))) = decoder.decode::<ClientFrame>(&data[at..]) {
        assert_eq!(frame.to_bytes(), &data[at..at + used]);
        at += used;
    }
    let mut at = 0;
    while let Ok(Some((frame, used))) = decoder.decode::<ServerFrame>(&data[at..]) {
        assert_eq!(frame.to_bytes(), &data[at..at + used]);
        at += used;
    }
});
