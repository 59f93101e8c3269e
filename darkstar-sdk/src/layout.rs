//! Layout fingerprints: a number computed at compile time from a stored type's shape, so
//! that bytes stored by one build are never read through another build's different struct.
//!
//! A type's fingerprint covers what decides its archived bytes: for a struct, each field's
//! name, in order, and its type's fingerprint; for an enum, each variant's name and fields;
//! for a standard type, its kind and its parameters' fingerprints. It does not cover names
//! that do not reach the bytes (the struct's own Rust name, its doc comments, its derives).
//! A managed type's stable name and version are kept beside it, not in it.
//!
//! [`Layout`] is implemented here for the standard types rkyv stores and derived for a
//! game's own types with `#[derive(Layout)]` (which `#[managed]` and `#[task]` do
//! themselves).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// A type whose archived layout has a fingerprint, computed at compile time.
///
/// Every type stored in a managed object or a task's arguments must have one, so that a
/// change to it is noticed when a store written by an older build is opened.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no layout fingerprint, so stored values of it could not be checked against a changed definition",
    label = "no layout fingerprint",
    note = "derive `darkstar_sdk::Layout` for it next to rkyv's derives: `#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout)]`",
    note = "for another crate's type, store it through a wrapper of your own, with `#[rkyv(with = ...)]` on the field"
)]
pub trait Layout {
    /// The fingerprint: equal for two builds exactly when their archived bytes are read the
    /// same way (up to a 64-bit hash collision).
    const FINGERPRINT: u64;
}

/// One field of a stored struct, as the catalog records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name (`"0"`, `"1"`... in a tuple struct).
    pub name: &'static str,
    /// Its type as written in the source, for messages.
    pub ty: &'static str,
    /// Its type's fingerprint.
    pub fingerprint: u64,
}

/// FNV-1a's offset basis and prime (64-bit).
const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// The fingerprint of a name: FNV-1a over its bytes.
pub const fn of_str(text: &str) -> u64 {
    absorb(OFFSET, text.as_bytes())
}

/// `hash` with `bytes` added, FNV-1a style.
const fn absorb(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(PRIME);
        i += 1;
    }
    hash
}

/// Two fingerprints combined, in order: `mix(a, b) != mix(b, a)`.
pub const fn mix(a: u64, b: u64) -> u64 {
    absorb(a, &b.to_le_bytes())
}

/// The fingerprint of a kind of type applied to parameters (`Vec` of one, `HashMap` of
/// two).
pub const fn of_kind(kind: &str, params: &[u64]) -> u64 {
    let mut hash = of_str(kind);
    let mut i = 0;
    while i < params.len() {
        hash = mix(hash, params[i]);
        i += 1;
    }
    hash
}

/// The fingerprint of a struct with `fields`, in order.
pub const fn of_fields(fields: &[Field]) -> u64 {
    let mut hash = of_str("struct");
    let mut i = 0;
    while i < fields.len() {
        hash = mix(hash, of_str(fields[i].name));
        hash = mix(hash, fields[i].fingerprint);
        i += 1;
    }
    hash
}

/// The fingerprint of an enum whose variants are `variants`: each a name and the
/// fingerprint of its fields (as [`of_fields`] computes it).
pub const fn of_variants(variants: &[(&str, u64)]) -> u64 {
    let mut hash = of_str("enum");
    let mut i = 0;
    while i < variants.len() {
        hash = mix(hash, of_str(variants[i].0));
        hash = mix(hash, variants[i].1);
        i += 1;
    }
    hash
}

/// The fingerprint of a field archived through `#[rkyv(with = ...)]`: the wrapper decides
/// the bytes, so the wrapper and the field's type as written are what is known of them.
pub const fn of_wrapped(tokens: &str) -> u64 {
    mix(of_str("with"), of_str(tokens))
}

macro_rules! leaf {
    ($($ty:ty),* $(,)?) => {
        $(impl Layout for $ty {
            const FINGERPRINT: u64 = of_str(stringify!($ty));
        })*
    };
}

leaf!(
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    (),
    String,
    str,
    std::time::Duration,
    std::num::NonZeroU8,
    std::num::NonZeroU16,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroI32,
    std::num::NonZeroI64,
    std::net::IpAddr,
    std::net::Ipv4Addr,
    std::net::Ipv6Addr,
    std::net::SocketAddr,
);

impl<T: Layout + ?Sized> Layout for Box<T> {
    const FINGERPRINT: u64 = of_kind("Box", &[T::FINGERPRINT]);
}

macro_rules! wrapper {
    ($($kind:literal => $ty:ident),* $(,)?) => {
        $(impl<T: Layout> Layout for $ty<T> {
            const FINGERPRINT: u64 = of_kind($kind, &[T::FINGERPRINT]);
        })*
    };
}

wrapper!("Option" => Option, "VecDeque" => VecDeque, "BTreeSet" => BTreeSet);

impl<T: Layout> Layout for Vec<T> {
    const FINGERPRINT: u64 = of_kind("Vec", &[T::FINGERPRINT]);
}

impl<T: Layout> Layout for [T] {
    // A boxed slice is archived like a vector.
    const FINGERPRINT: u64 = of_kind("Vec", &[T::FINGERPRINT]);
}

impl<T: Layout, const N: usize> Layout for [T; N] {
    const FINGERPRINT: u64 = of_kind("array", &[T::FINGERPRINT, N as u64]);
}

impl<T: Layout, S> Layout for HashSet<T, S> {
    const FINGERPRINT: u64 = of_kind("HashSet", &[T::FINGERPRINT]);
}

impl<K: Layout, V: Layout, S> Layout for HashMap<K, V, S> {
    const FINGERPRINT: u64 = of_kind("HashMap", &[K::FINGERPRINT, V::FINGERPRINT]);
}

impl<K: Layout, V: Layout> Layout for BTreeMap<K, V> {
    const FINGERPRINT: u64 = of_kind("BTreeMap", &[K::FINGERPRINT, V::FINGERPRINT]);
}

impl<T: Layout, E: Layout> Layout for Result<T, E> {
    const FINGERPRINT: u64 = of_kind("Result", &[T::FINGERPRINT, E::FINGERPRINT]);
}

impl<T: ?Sized> Layout for std::marker::PhantomData<T> {
    const FINGERPRINT: u64 = of_str("PhantomData");
}

macro_rules! tuple {
    ($($name:ident),+) => {
        impl<$($name: Layout),+> Layout for ($($name,)+) {
            const FINGERPRINT: u64 = of_kind("tuple", &[$($name::FINGERPRINT),+]);
        }
    };
}

tuple!(A);
tuple!(A, B);
tuple!(A, B, C);
tuple!(A, B, C, D);
tuple!(A, B, C, D, E);
tuple!(A, B, C, D, E, F);
tuple!(A, B, C, D, E, F, G);
tuple!(A, B, C, D, E, F, G, H);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_shapes_apart() {
        assert_ne!(u32::FINGERPRINT, u64::FINGERPRINT);
        assert_ne!(<Vec<u32>>::FINGERPRINT, <Option<u32>>::FINGERPRINT);
        assert_ne!(<(u8, u16)>::FINGERPRINT, <(u16, u8)>::FINGERPRINT);
        assert_ne!(<[u8; 3]>::FINGERPRINT, <[u8; 4]>::FINGERPRINT);
        assert_eq!(<Box<[u8]>>::FINGERPRINT, <Box<[u8]>>::FINGERPRINT);
        let field = |name, fingerprint| Field {
            name,
            ty: "",
            fingerprint,
        };
        let a = of_fields(&[field("hp", u32::FINGERPRINT), field("xp", u64::FINGERPRINT)]);
        let swapped = of_fields(&[field("xp", u64::FINGERPRINT), field("hp", u32::FINGERPRINT)]);
        let renamed = of_fields(&[
            field("hp", u32::FINGERPRINT),
            field("exp", u64::FINGERPRINT),
        ]);
        let retyped = of_fields(&[field("hp", u64::FINGERPRINT), field("xp", u64::FINGERPRINT)]);
        let fewer = of_fields(&[field("hp", u32::FINGERPRINT)]);
        for other in [swapped, renamed, retyped, fewer] {
            assert_ne!(a, other);
        }
        // The type as written is for messages only.
        let spelled = of_fields(&[
            Field {
                name: "hp",
                ty: "std::primitive::u32",
                fingerprint: u32::FINGERPRINT,
            },
            field("xp", u64::FINGERPRINT),
        ]);
        assert_eq!(a, spelled);
    }
}
