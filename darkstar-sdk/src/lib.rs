//! What a game programmer writes against in Darkstar for Rust: managed objects, typed
//! references, the task context, sessions and channels.
//!
//! The programming model is not built yet; this crate holds nothing until it is. Today the
//! project's working part is the embedded store, `darkstar-storage`.
