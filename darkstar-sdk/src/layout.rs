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

/// What rkyv's format features (chosen for the whole build by any crate that depends on
/// rkyv) make of archives: the width of an archived `usize`, the alignment of an archived
/// `u32`, and the byte order. Every struct's and enum's fingerprint includes it, so a
/// build that archives differently does not pass for the same layout.
pub const FORMAT: u64 = {
    use rkyv::primitive::{ArchivedU32, ArchivedUsize};
    let width = std::mem::size_of::<ArchivedUsize>() as u64;
    let align = std::mem::align_of::<ArchivedU32>() as u64;
    // SAFETY: an archived `u32` is four plain bytes (the size is checked by `transmute`),
    // in the byte order the format uses; any four bytes are a valid `[u8; 4]`.
    let bytes: [u8; 4] = unsafe { std::mem::transmute(ArchivedU32::from_native(1)) };
    width | (align << 8) | ((bytes[0] as u64) << 16)
};

/// The fingerprint of a struct with `fields`, in order.
pub const fn of_fields(fields: &[Field]) -> u64 {
    let mut hash = mix(of_str("struct"), FORMAT);
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
    let mut hash = mix(of_str("enum"), FORMAT);
    let mut i = 0;
    while i < variants.len() {
        hash = mix(hash, of_str(variants[i].0));
        hash = mix(hash, variants[i].1);
        i += 1;
    }
    hash
}

/// The fingerprint of a field whose type contains the type being defined (a recursive
/// type), from the type's tokens: its own fingerprint cannot be an input of itself.
pub const fn of_recursive(tokens: &str) -> u64 {
    mix(of_str("recursive"), of_str(tokens))
}

/// The layout fingerprint of values of `F` archived through the rkyv wrapper `Self`
/// (`#[rkyv(with = Self)]` on a field of type `F`): what the wrapper stores.
///
/// Implemented here for rkyv's wrappers; a wrapper of the game's own implements it for the
/// field types it takes, from the fingerprint of what it stores.
#[diagnostic::on_unimplemented(
    message = "the rkyv wrapper `{Self}` has no layout fingerprint for a field of type `{F}`",
    label = "no layout fingerprint through this wrapper",
    note = "implement `darkstar_sdk::layout::LayoutWith<{F}>` for `{Self}`, with the fingerprint of what it stores (`darkstar_sdk::layout::of_kind(\"MyWrapper\", &[<Inner as Layout>::FINGERPRINT])`)"
)]
pub trait LayoutWith<F: ?Sized> {
    /// The fingerprint of what the wrapper stores for a value of `F`.
    const FINGERPRINT: u64;
}

impl<F: ?Sized> LayoutWith<F> for rkyv::with::Skip {
    const FINGERPRINT: u64 = of_str("Skip");
}

impl<F: Layout + ?Sized> LayoutWith<F> for rkyv::with::Identity {
    const FINGERPRINT: u64 = F::FINGERPRINT;
}

impl<F: Layout + ?Sized> LayoutWith<F> for rkyv::with::AsBox {
    const FINGERPRINT: u64 = of_kind("Box", &[F::FINGERPRINT]);
}

impl<F: Layout> LayoutWith<F> for rkyv::with::Niche {
    const FINGERPRINT: u64 = of_kind("Niche", &[F::FINGERPRINT]);
}

impl<F: Layout> LayoutWith<F> for rkyv::with::AsVec {
    const FINGERPRINT: u64 = of_kind("AsVec", &[F::FINGERPRINT]);
}

impl<F> LayoutWith<F> for rkyv::with::AsString {
    const FINGERPRINT: u64 = of_str("String");
}

impl LayoutWith<std::time::SystemTime> for rkyv::with::AsUnixTime {
    const FINGERPRINT: u64 = of_str("Duration");
}

impl<T: Layout> LayoutWith<std::sync::Arc<T>> for rkyv::with::Unshare {
    const FINGERPRINT: u64 = T::FINGERPRINT;
}

impl<T: Layout> LayoutWith<std::rc::Rc<T>> for rkyv::with::Unshare {
    const FINGERPRINT: u64 = T::FINGERPRINT;
}

impl<T: Layout> LayoutWith<std::sync::Mutex<T>> for rkyv::with::Lock {
    const FINGERPRINT: u64 = T::FINGERPRINT;
}

impl<T, W: LayoutWith<T>> LayoutWith<Option<T>> for rkyv::with::Map<W> {
    const FINGERPRINT: u64 = of_kind("Option", &[W::FINGERPRINT]);
}

impl<T, W: LayoutWith<T>> LayoutWith<Vec<T>> for rkyv::with::Map<W> {
    const FINGERPRINT: u64 = of_kind("Vec", &[W::FINGERPRINT]);
}

impl<F: ?Sized> LayoutWith<F> for crate::persist::Unstored {
    // Only on a field that is an error already: such a crate does not build.
    const FINGERPRINT: u64 = of_str("Unstored");
}

macro_rules! leaf {
    ($($name:literal => $ty:ty),* $(,)?) => {
        $(impl Layout for $ty {
            const FINGERPRINT: u64 = of_str($name);
        })*
    };
}

// Named by literals, not `stringify!`: a fingerprint must not change with the compiler's
// way of printing tokens.
leaf!(
    "bool" => bool,
    "char" => char,
    "u8" => u8,
    "u16" => u16,
    "u32" => u32,
    "u64" => u64,
    "u128" => u128,
    "usize" => usize,
    "i8" => i8,
    "i16" => i16,
    "i32" => i32,
    "i64" => i64,
    "i128" => i128,
    "isize" => isize,
    "f32" => f32,
    "f64" => f64,
    "()" => (),
    "String" => String,
    "str" => str,
    "Duration" => std::time::Duration,
    "NonZeroU8" => std::num::NonZeroU8,
    "NonZeroU16" => std::num::NonZeroU16,
    "NonZeroU32" => std::num::NonZeroU32,
    "NonZeroU64" => std::num::NonZeroU64,
    "NonZeroI32" => std::num::NonZeroI32,
    "NonZeroI64" => std::num::NonZeroI64,
    "IpAddr" => std::net::IpAddr,
    "Ipv4Addr" => std::net::Ipv4Addr,
    "Ipv6Addr" => std::net::Ipv6Addr,
    "SocketAddr" => std::net::SocketAddr,
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
    fn names_hash_as_fnv_1a() {
        // The published test vectors of FNV-1a.
        assert_eq!(of_str(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(of_str("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn the_format_is_seen() {
        // Little endian, 32-bit archived `usize`, aligned: rkyv's defaults.
        assert_eq!(FORMAT & 0xff, 4);
        assert_eq!((FORMAT >> 8) & 0xff, 4);
        assert_eq!(FORMAT >> 16, 1);
    }

    #[test]
    fn wrappers_fingerprint_what_they_store() {
        use rkyv::with::{AsBox, Map, Skip};
        assert_ne!(
            <AsBox as LayoutWith<u32>>::FINGERPRINT,
            <AsBox as LayoutWith<u64>>::FINGERPRINT
        );
        assert_ne!(
            <Map<AsBox> as LayoutWith<Option<u32>>>::FINGERPRINT,
            <Map<AsBox> as LayoutWith<Vec<u32>>>::FINGERPRINT
        );
        assert_eq!(
            <Skip as LayoutWith<u32>>::FINGERPRINT,
            <Skip as LayoutWith<String>>::FINGERPRINT
        );
    }

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
