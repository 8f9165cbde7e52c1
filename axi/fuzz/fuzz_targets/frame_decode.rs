//! Fuzzes the NUL splitter and the decoder together: arbitrary bytes in arbitrary reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = axi::Limits { frame_size: 4096, ..axi::Limits::default() };
    let mut splitter = axi::Splitter::new(&limits);
    // The first byte chooses the read size, so frames also arrive split.
    let (cut, rest) = data.split_first().map_or((1, data), |(c, r)| (usize::from(*c).max(1), r));
    for chunk in rest.chunks(cut) {
        splitter.push(chunk);
        loop {
            match splitter.next_frame() {
                Ok(Some(frame)) => {
                    if let Ok(decoded) = axi::decode(&frame, &limits) {
                        // Whatever decodes must encode and decode to the same frame.
                        let bytes = axi::encode(&decoded);
                        let again = axi::decode(&bytes[..bytes.len() - 1], &limits).expect("re-decode");
                        assert_eq!(again, decoded);
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
