//! What `#[managed]` accepts, compiled with every warning denied.
#![deny(warnings)]

use std::collections::HashMap;

use darkstar_sdk::prelude::*;
use darkstar_sdk::rkyv;

/// A game's own `Cell`, which `#[managed]` must not mistake for `std::cell::Cell`.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]
#[rkyv(crate = rkyv, derive(Debug))]
pub struct Cell {
    pub x: u8,
    pub y: u8,
}

/// A game's own types named like standard ones that cannot be stored: a column of a chess
/// board, a thread of a forum, a clock of the game's own.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]
#[rkyv(crate = rkyv)]
pub struct File(pub u8);

/// See `File`.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]
#[rkyv(crate = rkyv)]
pub struct Thread {
    pub posts: Vec<String>,
}

pub mod clock {
    use darkstar_sdk::rkyv;

    /// See `File`.
    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]
    #[rkyv(crate = rkyv)]
    pub struct Instant {
        pub tick: u64,
    }
}

/// Fields of those types, which `#[managed]` must not mistake for the standard ones, and a
/// `Duration`, which rkyv archives.
#[managed]
pub struct Board {
    pub file: File,
    pub thread: Thread,
    pub started: clock::Instant,
    pub turn: std::time::Duration,
}

/// Every kind of field that gets a getter, and some that do not.
#[managed]
#[derive(Debug, Clone, PartialEq)]
pub struct Everything {
    pub a: u8,
    pub b: i8,
    pub c: bool,
    pub d: u16,
    pub e: i32,
    pub f: u64,
    pub g: i128,
    pub h: f32,
    pub i: f64,
    pub j: char,
    pub k: String,
    pub l: std::string::String,
    pub me: Ref<Self>,
    pub others: Vec<Ref<Self>>,
    pub maybe: Option<Box<str>>,
    pub table: HashMap<String, (u32, [u8; 4])>,
    pub r#type: u32,
    private: u64,
}

/// A private struct with private fields: its unused getters must not warn.
#[managed]
struct Hidden {
    secret: u64,
    name: String,
}

/// A grid, holding the game's own `Cell`s.
#[managed(name = "game.Grid")]
#[rkyv(derive(Debug))]
pub struct Grid {
    pub cells: Vec<Cell>,
    #[rkyv(with = rkyv::with::Skip)]
    pub cached: Option<std::rc::Rc<u32>>,
}

/// An archived type with a name of its own, which the getters follow.
#[managed]
#[rkyv(archived = StoredPoint)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

/// A tuple struct: stored, without getters.
#[managed]
pub struct Score(pub u32, pub String);

/// A unit struct: a marker object.
#[managed]
pub struct Marker;

/// Compiled out, and its generated items with it: otherwise they would name a missing type.
#[managed]
#[cfg(any())]
pub struct Gone {
    pub x: u32,
}

fn main() {
    let mut types = Types::new();
    types
        .object::<Everything>()
        .object::<Hidden>()
        .object::<Grid>()
        .object::<Score>()
        .object::<Marker>()
        .object::<Point>()
        .object::<Board>();
    // Seven, and the SDK's own (Session, Channel, the collections' nodes).
    assert_eq!(types.objects().len(), Types::new().objects().len() + 7);
    let hidden = Hidden {
        secret: 1,
        name: String::new(),
    };
    let _ = (hidden.secret, hidden.name);
    assert_eq!(<Grid as Stored>::TYPE_NAME, "game.Grid");
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&Point { x: -1, y: 2 }).unwrap();
    let point = rkyv::access::<StoredPoint, rkyv::rancor::Error>(&bytes).unwrap();
    assert_eq!((point.x(), point.y()), (-1, 2));
}
