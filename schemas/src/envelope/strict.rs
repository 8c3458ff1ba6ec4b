//! A deserializer wrapper that refuses a key seen twice in one JSON object,
//! at any depth, in known and unknown fields alike.
//!
//! serde_json keeps the last of two equal keys (`{"province":"50",
//! "province":"10"}` is Bangkok), and serde's derived structs notice a
//! repeated *known* field only; a repeated key inside an ignored field, or in
//! a `Value`, passes. An envelope with two values for one key is ambiguous:
//! another reader may take the first, so it is refused rather than guessed.
//!
//! [`Strict`] wraps any `Deserializer`, forwarding every call and wrapping
//! every visitor, so each map it reads goes through [`StrictMap`], which
//! remembers the object's keys. Ignored values are walked rather than
//! skipped (`deserialize_ignored_any` becomes `deserialize_any`), so objects
//! inside unknown fields are checked too. The success path costs one small
//! vector per object.

use std::{borrow::Cow, collections::HashSet, fmt};

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use crate::error::quote;

/// The message prefix of a repeated key; the decoder's reject kinds know it
/// (it is also serde's own wording for a repeated known field).
pub(super) const DUPLICATE: &str = "duplicate field";

/// See the module documentation.
pub(super) struct Strict<D>(pub D);

/// Deserializes `T` with every object checked for repeated keys.
pub(super) fn seed<T>() -> StrictSeed<std::marker::PhantomData<T>> {
    StrictSeed(std::marker::PhantomData)
}

/// A seed whose deserializer is wrapped in [`Strict`].
pub(super) struct StrictSeed<S>(pub S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for StrictSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(Strict(d))
    }
}

/// Forwards every `Deserializer` method to the wrapped deserializer with
/// the visitor wrapped, through the implementing type's `split`: the two
/// wrappers below differ only in what they wrap the visitor with. The
/// methods listed are the one-argument ones; `deserialize_ignored_any` is
/// listed by each, since [`Strict`] walks what others skip.
macro_rules! forward {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                let (inner, visitor) = self.split(visitor);
                inner.$method(visitor)
            }
        )*

        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            let (inner, visitor) = self.split(visitor);
            inner.deserialize_unit_struct(name, visitor)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            let (inner, visitor) = self.split(visitor);
            inner.deserialize_newtype_struct(name, visitor)
        }

        fn deserialize_tuple<V: Visitor<'de>>(
            self,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            let (inner, visitor) = self.split(visitor);
            inner.deserialize_tuple(len, visitor)
        }

        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            let (inner, visitor) = self.split(visitor);
            inner.deserialize_tuple_struct(name, len, visitor)
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            let (inner, visitor) = self.split(visitor);
            inner.deserialize_struct(name, fields, visitor)
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            name: &'static str,
            variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            let (inner, visitor) = self.split(visitor);
            inner.deserialize_enum(name, variants, visitor)
        }
    };
}

impl<D> Strict<D> {
    fn split<V>(self, visitor: V) -> (D, Wrap<V>) {
        (self.0, Wrap(visitor))
    }
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier
    }

    /// Walked, not skipped: a repeated key inside an unknown field counts.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Wrap(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A visitor whose nested deserializers and accessors are wrapped too.
struct Wrap<V>(V);

macro_rules! visit {
    ($($method:ident($ty:ty))*) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.0.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(Strict(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(StrictSeq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(StrictMap {
            map,
            keys: Keys::default(),
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(StrictEnum(data))
    }
}

struct StrictSeq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for StrictSeq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// The keys of one object so far. Keys borrowed from the input (every key
/// without escapes) go in a small inline array scanned linearly: no
/// allocation for any real envelope. An escaped key, or the 9th, moves
/// them all to a hash set, so a hostile object of thousands of keys costs
/// linear time, not quadratic.
struct Keys<'de> {
    few: [&'de str; FEW_KEYS],
    len: usize,
    many: Option<HashSet<Cow<'de, str>>>,
}

/// Keys kept inline before switching to the set.
const FEW_KEYS: usize = 8;

impl Default for Keys<'_> {
    fn default() -> Self {
        Self {
            few: [""; FEW_KEYS],
            len: 0,
            many: None,
        }
    }
}

impl<'de> Keys<'de> {
    /// `false` when `key` was seen before.
    fn insert(&mut self, key: Cow<'de, str>) -> bool {
        if self.many.is_none() {
            if let Cow::Borrowed(k) = key
                && self.len < FEW_KEYS
            {
                if self.few[..self.len].contains(&k) {
                    return false;
                }
                self.few[self.len] = k;
                self.len += 1;
                return true;
            }
            let inline = self.few[..self.len].iter().map(|k| Cow::Borrowed(*k));
            self.many = Some(inline.collect());
        }
        self.many.as_mut().is_none_or(|set| set.insert(key))
    }
}

struct StrictMap<'de, A> {
    map: A,
    keys: Keys<'de>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for StrictMap<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.map.next_key_seed(KeySeed {
            seed,
            keys: &mut self.keys,
        })
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.map.next_value_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// Reads a key, recording its text in the object's [`Keys`].
struct KeySeed<'a, 'de, K> {
    seed: K,
    keys: &'a mut Keys<'de>,
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, 'de, K> {
    type Value = K::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<K::Value, D::Error> {
        self.seed.deserialize(KeyDeserializer {
            inner: d,
            keys: self.keys,
        })
    }
}

struct KeyDeserializer<'a, 'de, D> {
    inner: D,
    keys: &'a mut Keys<'de>,
}

impl<'a, 'de, D> KeyDeserializer<'a, 'de, D> {
    fn split<V>(self, visitor: V) -> (D, KeyVisitor<'a, 'de, V>) {
        let keys = self.keys;
        (self.inner, KeyVisitor { visitor, keys })
    }
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for KeyDeserializer<'_, 'de, D> {
    type Error = D::Error;

    // Keys are read as whatever the caller asks for (a field name, a
    // string, a number for integer-keyed maps); only string keys are
    // recorded, which is every key a JSON envelope has.
    forward! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

struct KeyVisitor<'a, 'de, V> {
    visitor: V,
    keys: &'a mut Keys<'de>,
}

impl<'de, V: Visitor<'de>> KeyVisitor<'_, 'de, V> {
    fn record<E: de::Error>(&mut self, key: Cow<'de, str>) -> Result<(), E> {
        if self.keys.insert(key.clone()) {
            Ok(())
        } else {
            Err(E::custom(format_args!("{DUPLICATE} {}", quote(&key))))
        }
    }
}

macro_rules! key_visit {
    ($($method:ident($ty:ty))*) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.visitor.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for KeyVisitor<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_borrowed_str<E: de::Error>(mut self, v: &'de str) -> Result<V::Value, E> {
        self.record(Cow::Borrowed(v))?;
        self.visitor.visit_borrowed_str(v)
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<V::Value, E> {
        self.record(Cow::Owned(v.to_owned()))?;
        self.visitor.visit_str(v)
    }

    fn visit_string<E: de::Error>(mut self, v: String) -> Result<V::Value, E> {
        self.record(Cow::Owned(v.clone()))?;
        self.visitor.visit_string(v)
    }

    key_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char)
        visit_bytes(&[u8]) visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.visitor.visit_some(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.visitor.visit_newtype_struct(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_map(map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_enum(data)
    }
}

struct StrictEnum<A>(A);

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for StrictEnum<A> {
    type Error = A::Error;
    type Variant = StrictVariant<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        self.0
            .variant_seed(seed)
            .map(|(value, variant)| (value, StrictVariant(variant)))
    }
}

struct StrictVariant<A>(A);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for StrictVariant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(StrictSeed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrap(visitor))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::Value;

    use super::*;

    fn strict<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        seed::<T>()
            .deserialize(&mut de)
            .and_then(|v| de.end().map(|()| v))
            .map_err(|e| e.to_string())
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Flat {
        a: f64,
    }

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        assert!(strict::<Value>(r#"{"a":1,"b":{"c":[{"d":1,"e":2}]}}"#).is_ok());
        for text in [
            r#"{"province":"50","province":"10"}"#,
            r#"{"a":1,"b":{"c":[{"d":1,"d":2}]}}"#,
            r#"{"a":1,"x":1,"x":2}"#,
            r#"{"a":1,"x":{"y":{"z":1,"z":1}}}"#,
            // The same key, once escaped: still the same key.
            r#"{"a":1,"x":1,"\u0078":2}"#,
        ] {
            let err = strict::<Value>(text).unwrap_err();
            assert!(err.starts_with(DUPLICATE), "{text}: {err}");
            let err = strict::<Flat>(text);
            assert!(
                text.starts_with(r#"{"province""#) || err.is_err(),
                "{text}: unknown fields are checked too"
            );
        }
        assert!(strict::<Flat>(r#"{"a":1,"x":{"q":[1,{"r":2}]}}"#).is_ok());
        let err = strict::<Flat>(r#"{"a":1,"a":2}"#).unwrap_err();
        assert!(err.starts_with(DUPLICATE), "{err}");
    }

    #[test]
    fn an_object_of_many_keys_is_checked_in_linear_time() {
        let mut text = String::from("{");
        for i in 0..20_000 {
            text.push_str(&format!("\"k{i}\":0,"));
        }
        text.push_str("\"k19999\":1}");
        let started = std::time::Instant::now();
        assert!(strict::<Value>(&text).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
