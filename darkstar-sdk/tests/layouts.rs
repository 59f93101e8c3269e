//! Layout fingerprints as the macros compute them: what changes them and what does not.

use darkstar_sdk::layout::Layout;
use darkstar_sdk::prelude::*;
use darkstar_sdk::rkyv;

/// Two versions of a nested type, as two builds would have it.
mod before {
    use super::*;

    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]
    #[rkyv(crate = rkyv)]
    pub struct Bag {
        pub slots: u32,
    }

    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]
    #[rkyv(crate = rkyv)]
    pub enum Mood {
        Calm,
        Angry { level: u8 },
    }

    #[managed(name = "test.Player")]
    pub struct Player {
        pub bag: Bag,
        pub boxed: Option<Box<Bag>>,
        #[rkyv(with = rkyv::with::AsBox)]
        pub wrapped: Bag,
        pub mood: Mood,
        pub friend: Ref<Player>,
    }
}

mod after {
    use super::*;

    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]
    #[rkyv(crate = rkyv)]
    pub struct Bag {
        pub slots: u64,
    }

    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]
    #[rkyv(crate = rkyv)]
    pub enum Mood {
        Calm,
        Angry { level: u16 },
    }
}

/// The same struct under another Rust name, holding the changed types one at a time.
macro_rules! player {
    ($name:ident, $bag:ty, $boxed:ty, $wrapped:ty, $mood:ty) => {
        #[managed(name = "test.Player")]
        pub struct $name {
            pub bag: $bag,
            pub boxed: Option<Box<$boxed>>,
            #[rkyv(with = rkyv::with::AsBox)]
            pub wrapped: $wrapped,
            pub mood: $mood,
            pub friend: Ref<$name>,
        }
    };
}

player!(Same, before::Bag, before::Bag, before::Bag, before::Mood);
player!(
    BagChanged,
    after::Bag,
    before::Bag,
    before::Bag,
    before::Mood
);
player!(
    BoxedChanged,
    before::Bag,
    after::Bag,
    before::Bag,
    before::Mood
);
player!(
    WrappedChanged,
    before::Bag,
    before::Bag,
    after::Bag,
    before::Mood
);
player!(
    MoodChanged,
    before::Bag,
    before::Bag,
    before::Bag,
    after::Mood
);

#[test]
fn a_change_anywhere_inside_changes_the_fingerprint() {
    let base = before::Player::FINGERPRINT;
    assert_eq!(
        Same::FINGERPRINT,
        base,
        "the Rust name is not part of the layout"
    );
    for changed in [
        BagChanged::FINGERPRINT,
        BoxedChanged::FINGERPRINT,
        WrappedChanged::FINGERPRINT,
        MoodChanged::FINGERPRINT,
    ] {
        assert_ne!(changed, base);
    }
}

/// A recursive generic list: its fields name it, so they are fingerprinted by their tokens,
/// and its parameter is mixed in.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]
#[rkyv(crate = rkyv, serialize_bounds(__S: rkyv::ser::Writer + rkyv::ser::Allocator, __S::Error: rkyv::rancor::Source), deserialize_bounds(__D::Error: rkyv::rancor::Source), bytecheck(bounds(__C: rkyv::validation::ArchiveContext, __C::Error: rkyv::rancor::Source)))]
pub enum List<T> {
    Nil,
    Cons(T, #[rkyv(omit_bounds)] Box<List<T>>),
}

/// Holds another crate's type of the same name as itself: not a recursive field.
pub mod proto {
    use super::*;

    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]
    #[rkyv(crate = rkyv)]
    pub struct Player {
        pub id: u32,
    }

    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]
    #[rkyv(crate = rkyv)]
    pub struct Wide {
        pub id: u64,
    }
}

#[managed(name = "test.Wrapper")]
pub struct Player {
    pub inner: proto::Player,
}

#[managed(name = "test.Wrapper")]
pub struct WidePlayer {
    pub inner: proto::Wide,
}

#[test]
fn recursive_and_generic_types_are_told_apart() {
    assert_ne!(<List<u32>>::FINGERPRINT, <List<u64>>::FINGERPRINT);
    assert_ne!(Player::FINGERPRINT, WidePlayer::FINGERPRINT);
    assert_eq!(
        Player::FIELDS[0].fingerprint,
        proto::Player::FINGERPRINT,
        "`proto::Player` is another type, fingerprinted as itself"
    );
}

#[test]
fn stored_names_carry_the_version() {
    #[managed(name = "test.Versioned", version = 1)]
    pub struct V1 {
        pub a: u32,
    }

    #[managed(name = "test.Versioned", version = 2, from = V1)]
    pub struct V2 {
        pub a: u64,
    }

    impl From<V1> for V2 {
        fn from(old: V1) -> V2 {
            V2 { a: old.a.into() }
        }
    }

    assert_eq!(V1::STORED_NAME, "test.Versioned");
    assert_eq!(V2::STORED_NAME, "test.Versioned@2");
    let versions: Vec<u32> = V2::versions().iter().map(|v| v.version).collect();
    assert_eq!(versions, [1, 2]);
    let old = darkstar_sdk::encode(&V1 { a: 7 }, "test.Versioned").unwrap();
    let new = V2::upgrade(1, &old, 1).unwrap();
    assert_eq!(new.a, 7);
    assert!(V2::upgrade(3, &old, 1).is_err());
}
