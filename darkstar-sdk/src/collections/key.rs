//! Map keys: an encoding into bytes whose byte order is the keys' order.
//!
//! A map's nodes are not generic (a stored type has one name), so they hold keys as bytes
//! and compare them as bytes. [`EncodeKey`] writes a key so that comparing two encodings
//! byte by byte gives the same answer as comparing the keys with `Ord`; [`MapKey`] reads it
//! back. Every encoding is also *self-delimiting*: a decoder can tell where it ends, so the
//! encodings of a tuple's elements can simply follow one another.
//!
//! | type | encoding |
//! |---|---|
//! | `u8` … `u128`, `usize` | big-endian |
//! | `i8` … `i128`, `isize` | big-endian with the sign bit flipped, so negatives come first |
//! | `bool` | one byte, 0 or 1 |
//! | `char` | its code point as a big-endian `u32` |
//! | `String`, `str`, `Vec<u8>`, `[u8]` | the bytes with each 0x00 written as 0x00 0xFF, then 0x00 0x00 |
//! | `[u8; N]` | the N bytes (so an array key is looked up by an array, not a slice: see [`KeyRef`]) |
//! | `Option<K>` | 0x00 for `None`, 0x01 then the key for `Some` |
//! | `Ref<T>` | the object id as a big-endian `u64` |
//! | `()` | nothing |
//! | tuples of up to 6 keys | the elements' encodings one after another |
//!
//! The escape keeps variable-length keys ordered inside tuples: a string's terminator,
//! 0x00 0x00, sorts before any byte that can follow 0x00 within it (0xFF), so `("a", x)`
//! sorts before `("a\0", y)` whatever `x` and `y` are, as `"a" < "a\0"`.

use crate::reference::Ref;

/// A key, or a borrowed form of one (`str` for `String`, see [`KeyRef`]), that can be
/// written in the order-preserving byte encoding of map keys.
///
/// Contract for an implementation: for any two values `a` and `b`, the encodings compare
/// (as byte strings) as `a.cmp(&b)` does, and no encoding is a proper prefix of another
/// one of the same type. A borrowed form a key is looked up by ([`KeyRef`]) must encode
/// exactly as its owned type does.
/// Composing the encodings of the implementations below (as the tuple impls do) keeps both
/// properties.
pub trait EncodeKey {
    /// Appends the key's encoding to `out`.
    fn encode_key(&self, out: &mut Vec<u8>);
}

/// `K: KeyRef<Q>`: a `&Q` looks up a key of type `K` in a [`ManagedMap`](crate::ManagedMap)
/// (`get`, `contains_key`, `remove`), because `Q` encodes exactly as `K` does.
///
/// It stands where `std`'s maps use `K: Borrow<Q>`, which would not do: `Borrow` promises
/// equal `Eq`, `Ord` and `Hash`, not an equal encoding, and `[u8; N]: Borrow<[u8]>` holds
/// although an array key is written raw and a slice escaped, so a lookup by slice would
/// silently find nothing. The implementations are every key type by itself, `String` by
/// `str` and `Vec<u8>` by `[u8]`; a game's own key type is looked up by itself.
///
/// ```compile_fail
/// # use darkstar_sdk::prelude::*;
/// fn by_slice(ctx: &Context, map: ManagedMap<[u8; 4], u32>) -> Result<Option<u32>, TaskError> {
///     // An array key is looked up by an array, not a slice.
///     map.get(ctx, &b"abcd"[..])
/// }
/// ```
///
/// Contract for an implementation: for every `k: K`, the `Q` it stands for encodes to the
/// same bytes as `k`.
pub trait KeyRef<Q: EncodeKey + ?Sized> {}

impl<K: MapKey> KeyRef<K> for K {}
impl KeyRef<str> for String {}
impl KeyRef<[u8]> for Vec<u8> {}

/// A key type of a [`ManagedMap`](crate::ManagedMap): encoded in byte order (see
/// [`EncodeKey`]) and read back from its encoding.
pub trait MapKey: EncodeKey + Ord + Sized {
    /// Reads one key from the front of `input` and advances `input` past it, or returns
    /// `None` if the bytes are not the encoding of a key of this type.
    fn decode_key(input: &mut &[u8]) -> Option<Self>;
}

/// The encoding of `key`, in a vector of its own.
pub(crate) fn encoded<Q: EncodeKey + ?Sized>(key: &Q) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    key.encode_key(&mut out);
    out
}

/// Decodes one whole key: the bytes must hold exactly one.
pub(crate) fn decode_whole<K: MapKey>(mut bytes: &[u8]) -> Option<K> {
    let key = K::decode_key(&mut bytes)?;
    bytes.is_empty().then_some(key)
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if input.len() < n {
        return None;
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Some(head)
}

fn take_array<const N: usize>(input: &mut &[u8]) -> Option<[u8; N]> {
    take(input, N).map(|b| b.try_into().expect("N bytes"))
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl EncodeKey for $t {
            fn encode_key(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }

        impl MapKey for $t {
            fn decode_key(input: &mut &[u8]) -> Option<Self> {
                take_array(input).map(<$t>::from_be_bytes)
            }
        }
    )*};
}

unsigned!(u8, u16, u32, u64, u128);

macro_rules! signed {
    ($($t:ty => $u:ty),*) => {$(
        impl EncodeKey for $t {
            fn encode_key(&self, out: &mut Vec<u8>) {
                let flipped = (*self as $u) ^ (1 << (<$u>::BITS - 1));
                out.extend_from_slice(&flipped.to_be_bytes());
            }
        }

        impl MapKey for $t {
            fn decode_key(input: &mut &[u8]) -> Option<Self> {
                let flipped = take_array(input).map(<$u>::from_be_bytes)?;
                Some((flipped ^ (1 << (<$u>::BITS - 1))) as $t)
            }
        }
    )*};
}

signed!(i8 => u8, i16 => u16, i32 => u32, i64 => u64, i128 => u128);

// `usize` and `isize` are encoded as 64 bits whatever the platform, so a store reads the
// same on every machine; decoding a value that does not fit this platform fails.
impl EncodeKey for usize {
    fn encode_key(&self, out: &mut Vec<u8>) {
        (*self as u64).encode_key(out);
    }
}

impl MapKey for usize {
    fn decode_key(input: &mut &[u8]) -> Option<Self> {
        usize::try_from(u64::decode_key(input)?).ok()
    }
}

impl EncodeKey for isize {
    fn encode_key(&self, out: &mut Vec<u8>) {
        (*self as i64).encode_key(out);
    }
}

impl MapKey for isize {
    fn decode_key(input: &mut &[u8]) -> Option<Self> {
        isize::try_from(i64::decode_key(input)?).ok()
    }
}

impl EncodeKey for bool {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl MapKey for bool {
    fn decode_key(input: &mut &[u8]) -> Option<Self> {
        match take(input, 1)? {
            [0] => Some(false),
            [1] => Some(true),
            _ => None,
        }
    }
}

impl EncodeKey for char {
    fn encode_key(&self, out: &mut Vec<u8>) {
        u32::from(*self).encode_key(out);
    }
}

impl MapKey for char {
    fn decode_key(input: &mut &[u8]) -> Option<Self> {
        char::from_u32(u32::decode_key(input)?)
    }
}

impl EncodeKey for () {
    fn encode_key(&self, _out: &mut Vec<u8>) {}
}

impl MapKey for () {
    fn decode_key(_input: &mut &[u8]) -> Option<Self> {
        Some(())
    }
}

/// Writes variable-length bytes: each 0x00 as 0x00 0xFF, then the terminator 0x00 0x00.
fn encode_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 2);
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Reads what [`encode_escaped`] wrote.
fn decode_escaped(input: &mut &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        match *input.get(i)? {
            0 => match *input.get(i + 1)? {
                0 => break,
                0xFF => out.push(0),
                _ => return None,
            },
            b => {
                out.push(b);
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    *input = &input[i + 2..];
    Some(out)
}

impl EncodeKey for [u8] {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_escaped(self, out);
    }
}

impl EncodeKey for Vec<u8> {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_escaped(self, out);
    }
}

impl MapKey for Vec<u8> {
    fn decode_key(input: &mut &[u8]) -> Option<Self> {
        decode_escaped(input)
    }
}

impl EncodeKey for str {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_escaped(self.as_bytes(), out);
    }
}

impl EncodeKey for String {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_escaped(self.as_bytes(), out);
    }
}

impl MapKey for String {
    fn decode_key(input: &mut &[u8]) -> Option<Self> {
        String::from_utf8(decode_escaped(input)?).ok()
    }
}

impl<const N: usize> EncodeKey for [u8; N] {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl<const N: usize> MapKey for [u8; N] {
    fn decode_key(input: &mut &[u8]) -> Option<Self> {
        take_array(input)
    }
}

impl<K: EncodeKey> EncodeKey for Option<K> {
    fn encode_key(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(k) => {
                out.push(1);
                k.encode_key(out);
            }
        }
    }
}

impl<K: MapKey> MapKey for Option<K> {
    fn decode_key(input: &mut &[u8]) -> Option<Self> {
        match take(input, 1)? {
            [0] => Some(None),
            [1] => Some(Some(K::decode_key(input)?)),
            _ => None,
        }
    }
}

impl<T> EncodeKey for Ref<T> {
    fn encode_key(&self, out: &mut Vec<u8>) {
        self.id().encode_key(out);
    }
}

impl<T> MapKey for Ref<T> {
    fn decode_key(input: &mut &[u8]) -> Option<Self> {
        u64::decode_key(input).map(Ref::from_id)
    }
}

macro_rules! tuples {
    ($(($($name:ident),+)),*) => {$(
        impl<$($name: EncodeKey),+> EncodeKey for ($($name,)+) {
            #[allow(non_snake_case)]
            fn encode_key(&self, out: &mut Vec<u8>) {
                let ($($name,)+) = self;
                $($name.encode_key(out);)+
            }
        }

        impl<$($name: MapKey),+> MapKey for ($($name,)+) {
            fn decode_key(input: &mut &[u8]) -> Option<Self> {
                Some(($($name::decode_key(input)?,)+))
            }
        }
    )*};
}

tuples!(
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F)
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same_order<K: MapKey + std::fmt::Debug + Clone>(a: K, b: K) -> Result<(), TestCaseError> {
        let (ea, eb) = (encoded(&a), encoded(&b));
        prop_assert_eq!(
            a.cmp(&b),
            ea.cmp(&eb),
            "{:?} {:?} as {:?} {:?}",
            a,
            b,
            ea,
            eb
        );
        prop_assert_eq!(decode_whole::<K>(&ea), Some(a));
        prop_assert_eq!(decode_whole::<K>(&eb), Some(b));
        Ok(())
    }

    proptest! {
        #[test]
        fn integers_keep_their_order(a: i64, b: i64, c: u32, d: u32, e: i8, f: i8, g: i128, h: i128) {
            same_order(a, b)?;
            same_order(c, d)?;
            same_order(e, f)?;
            same_order(g, h)?;
        }

        #[test]
        fn strings_and_bytes_keep_their_order(a in "[a\\x00b]{0,6}", b in "[a\\x00b]{0,6}", c: Vec<u8>, d: Vec<u8>) {
            same_order(a.clone(), b.clone())?;
            same_order(c, d)?;
            prop_assert_eq!(encoded(a.as_str()), encoded(&a));
        }

        #[test]
        fn tuples_keep_their_order(
            a in ("[a\\x00]{0,3}", any::<i16>(), any::<Option<bool>>()),
            b in ("[a\\x00]{0,3}", any::<i16>(), any::<Option<bool>>()),
            c in (any::<Vec<u8>>(), any::<char>()),
            d in (any::<Vec<u8>>(), any::<char>()),
        ) {
            same_order(a, b)?;
            same_order(c, d)?;
        }
    }

    #[test]
    fn fixed_forms() {
        assert_eq!(encoded(&-1i32), [0x7F, 0xFF, 0xFF, 0xFF]);
        assert_eq!(encoded(&0i32), [0x80, 0, 0, 0]);
        assert_eq!(encoded("a\0b"), [b'a', 0, 0xFF, b'b', 0, 0]);
        assert_eq!(encoded(&Ref::<()>::from_id(7)), 7u64.to_be_bytes());
        assert_eq!(encoded(&[1u8, 2]), [1, 2]);
        assert!(decode_whole::<String>(&[0xC3, 0, 0]).is_none(), "not UTF-8");
        assert!(decode_whole::<bool>(&[2]).is_none());
        assert!(decode_whole::<u32>(&[1, 2]).is_none());
        assert!(decode_whole::<u8>(&[1, 2]).is_none(), "bytes left over");
        assert!(decode_whole::<Vec<u8>>(&[1, 0, 7]).is_none(), "bad escape");
    }
}
