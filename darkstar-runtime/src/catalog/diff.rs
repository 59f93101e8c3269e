//! What changed between a recorded layout and this build's, field by field, in words.

use darkstar_sdk::layout::Field;

use super::record::FieldRecord;

/// The changes from `stored` to `built`, one phrase each (`field \`hp\` retyped: u32 →
/// u64`), in field order. Empty if the fields are the same.
pub(crate) fn describe(stored: &[FieldRecord], built: &[Field]) -> Vec<String> {
    let mut changes = Vec::new();
    for old in stored {
        match built.iter().find(|new| new.name == old.name) {
            None => changes.push(format!("field `{}: {}` removed", old.name, old.ty)),
            Some(new) if new.fingerprint != old.fingerprint => {
                if new.ty == old.ty {
                    changes.push(format!(
                        "field `{}`: the layout of `{}` changed",
                        old.name, old.ty
                    ));
                } else {
                    changes.push(format!(
                        "field `{}` retyped: {} → {}",
                        old.name, old.ty, new.ty
                    ));
                }
            }
            Some(_) => {}
        }
    }
    for new in built {
        if !stored.iter().any(|old| old.name == new.name) {
            changes.push(format!("field `{}: {}` added", new.name, new.ty));
        }
    }
    if changes.is_empty() {
        let old: Vec<&str> = stored.iter().map(|f| f.name.as_str()).collect();
        let new: Vec<&str> = built.iter().map(|f| f.name).collect();
        if old != new {
            changes.push(format!(
                "fields reordered: ({}) → ({})",
                old.join(", "),
                new.join(", ")
            ));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(name: &str, ty: &str, fingerprint: u64) -> FieldRecord {
        FieldRecord {
            name: name.to_owned(),
            ty: ty.to_owned(),
            fingerprint,
        }
    }

    fn built(name: &'static str, ty: &'static str, fingerprint: u64) -> Field {
        Field {
            name,
            ty,
            fingerprint,
        }
    }

    #[test]
    fn names_every_kind_of_change() {
        let old = [
            stored("name", "String", 1),
            stored("hp", "u32", 2),
            stored("bag", "Bag", 3),
            stored("gone", "u8", 4),
        ];
        let new = [
            built("name", "String", 1),
            built("hp", "u64", 5),
            built("bag", "Bag", 6),
            built("level", "u32", 2),
        ];
        assert_eq!(
            describe(&old, &new),
            [
                "field `hp` retyped: u32 → u64",
                "field `bag`: the layout of `Bag` changed",
                "field `gone: u8` removed",
                "field `level: u32` added",
            ]
        );
        let swapped = [built("hp", "u32", 2), built("name", "String", 1)];
        assert_eq!(
            describe(&old[..2], &swapped),
            ["fields reordered: (name, hp) → (hp, name)"]
        );
        assert!(describe(&old[..2], &new[..1]).len() == 1);
    }
}
