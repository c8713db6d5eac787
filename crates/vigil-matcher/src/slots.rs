//! The matcher's per-signal state in a dense, paged table: 16 bytes a signal instead of a hash
//! map entry's ~90 (with the map's spare capacity, ~150): the difference between 10 million
//! PDQ signals fitting in 2 GB or not.
//!
//! Signal ids are the store's row ids, handed out in increasing order, so they are dense: the
//! table is pages of [`PAGE`] consecutive ids, a page allocated when its first id is held and
//! freed when its last goes. A PDQ hash is not kept here: the PDQ index has it (a slot reads
//! back as [`Value::Pdq`]`(None)`); a value of any other kind lives in a side map, as does a
//! quarantine's end (few signals have one).

use std::collections::HashMap;

use crate::{Held, Value};

/// Ids per page: small enough that sparse ids waste little, large enough that the page map is
/// small (10M dense ids: 39,000 pages).
const PAGE: usize = 256;

const KIND_EMPTY: u8 = 0;
const KIND_PDQ: u8 = 1;
const KIND_OTHER: u8 = 2;

const ACTIVE: u8 = 1;

#[derive(Clone, Copy)]
struct Slot {
    content_id: i64,
    /// Index into [`Slots::bank_ids`].
    bank: u32,
    kind: u8,
    flags: u8,
}

const EMPTY: Slot = Slot {
    content_id: 0,
    bank: 0,
    kind: KIND_EMPTY,
    flags: 0,
};

struct Page {
    slots: [Slot; PAGE],
    used: u16,
}

/// Held signals by id.
#[derive(Default)]
pub(crate) struct Slots {
    pages: HashMap<i64, Box<Page>>,
    /// Values of kinds other than PDQ.
    other: HashMap<i64, Box<vigil_exchange::record::Signal>>,
    /// Quarantine ends.
    until: HashMap<i64, i64>,
    /// Bank ids, interned (a slot holds a 4-byte index).
    bank_ids: Vec<i64>,
    bank_index: HashMap<i64, u32>,
    len: usize,
}

fn split(id: i64) -> (i64, usize) {
    (
        id.div_euclid(PAGE as i64),
        id.rem_euclid(PAGE as i64) as usize,
    )
}

impl Slots {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn slot(&self, id: i64) -> Option<&Slot> {
        let (p, i) = split(id);
        self.pages
            .get(&p)
            .map(|page| &page.slots[i])
            .filter(|s| s.kind != KIND_EMPTY)
    }

    fn held(&self, id: i64, s: &Slot) -> Held {
        Held {
            bank_id: self.bank_ids[s.bank as usize],
            content_id: s.content_id,
            value: match s.kind {
                KIND_PDQ => Value::Pdq(None),
                _ => Value::Other(
                    self.other
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| unreachable!("a slot of another kind has its value")),
                ),
            },
            disabled_until: self.until.get(&id).copied(),
            active: s.flags & ACTIVE != 0,
        }
    }

    pub(crate) fn get(&self, id: i64) -> Option<Held> {
        self.slot(id).map(|s| self.held(id, s))
    }

    /// The bank of a held signal and whether it is active, without building its value (the
    /// query path's filter).
    pub(crate) fn bank_and_active(&self, id: i64) -> Option<(i64, bool)> {
        self.slot(id)
            .map(|s| (self.bank_ids[s.bank as usize], s.flags & ACTIVE != 0))
    }

    fn intern(&mut self, bank_id: i64) -> u32 {
        if let Some(&i) = self.bank_index.get(&bank_id) {
            return i;
        }
        let i = self.bank_ids.len() as u32;
        self.bank_ids.push(bank_id);
        self.bank_index.insert(bank_id, i);
        i
    }

    pub(crate) fn insert(&mut self, id: i64, h: Held) {
        let bank = self.intern(h.bank_id);
        let kind = match h.value {
            Value::Pdq(_) => KIND_PDQ,
            Value::Other(signal) => {
                self.other.insert(id, signal);
                KIND_OTHER
            }
        };
        if kind == KIND_PDQ {
            self.other.remove(&id);
        }
        match h.disabled_until {
            Some(u) => {
                self.until.insert(id, u);
            }
            None => {
                self.until.remove(&id);
            }
        }
        let (p, i) = split(id);
        let page = self.pages.entry(p).or_insert_with(|| {
            Box::new(Page {
                slots: [EMPTY; PAGE],
                used: 0,
            })
        });
        if page.slots[i].kind == KIND_EMPTY {
            page.used += 1;
            self.len += 1;
        }
        page.slots[i] = Slot {
            content_id: h.content_id,
            bank,
            kind,
            flags: if h.active { ACTIVE } else { 0 },
        };
    }

    pub(crate) fn remove(&mut self, id: i64) -> Option<Held> {
        let (p, i) = split(id);
        let page = self.pages.get_mut(&p)?;
        let s = page.slots[i];
        if s.kind == KIND_EMPTY {
            return None;
        }
        let h = self.held(id, &s);
        self.other.remove(&id);
        self.until.remove(&id);
        let page = self.pages.get_mut(&p)?;
        page.slots[i] = EMPTY;
        page.used -= 1;
        if page.used == 0 {
            self.pages.remove(&p);
        }
        self.len -= 1;
        Some(h)
    }

    pub(crate) fn set_active(&mut self, id: i64, active: bool) {
        let (p, i) = split(id);
        if let Some(page) = self.pages.get_mut(&p) {
            let s = &mut page.slots[i];
            if s.kind != KIND_EMPTY {
                s.flags = if active {
                    s.flags | ACTIVE
                } else {
                    s.flags & !ACTIVE
                };
            }
        }
    }

    fn each(&self) -> impl Iterator<Item = (i64, &Slot)> + '_ {
        self.pages.iter().flat_map(|(p, page)| {
            page.slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.kind != KIND_EMPTY)
                .map(move |(i, s)| (p * PAGE as i64 + i as i64, s))
        })
    }

    pub(crate) fn ids_of_bank(&self, bank_id: i64) -> Vec<i64> {
        let Some(&b) = self.bank_index.get(&bank_id) else {
            return Vec::new();
        };
        self.each()
            .filter(|(_, s)| s.bank == b)
            .map(|(id, _)| id)
            .collect()
    }

    pub(crate) fn count_active(&self) -> usize {
        self.each().filter(|(_, s)| s.flags & ACTIVE != 0).count()
    }
}

#[cfg(test)]
mod tests {
    use vigil_core::Hash256;

    use super::*;

    #[test]
    fn slots_behave_as_a_map() {
        let mut s = Slots::default();
        let mut oracle: HashMap<i64, (i64, i64, bool)> = HashMap::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for step in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Dense ids with some far ones and negatives (never from a store, but handled).
            let id = match x % 10 {
                0 => (x >> 8) as i64 % 1_000_000_000,
                1 => -((x >> 8) as i64 % 1000),
                _ => (x >> 8) as i64 % 3000,
            };
            if x.is_multiple_of(3) {
                assert_eq!(
                    s.remove(id).map(|h| h.content_id),
                    oracle.remove(&id).map(|o| o.0)
                );
            } else {
                let h = Held {
                    bank_id: (x % 5) as i64 + 1_000_000_000_000,
                    content_id: step,
                    value: Value::Pdq(Some(Hash256::from_bytes([step as u8; 32]))),
                    disabled_until: x.is_multiple_of(7).then_some(step),
                    active: x.is_multiple_of(2),
                };
                oracle.insert(id, (step, h.bank_id, h.active));
                s.insert(id, h);
            }
            assert_eq!(s.len(), oracle.len());
        }
        for (id, (c, b, a)) in &oracle {
            let h = s.get(*id).unwrap();
            assert_eq!((h.content_id, h.bank_id, h.active), (*c, *b, *a));
            // The hash is the PDQ index's to keep.
            assert_eq!(h.value, Value::Pdq(None));
        }
        assert_eq!(s.count_active(), oracle.values().filter(|o| o.2).count());
        let b = 1_000_000_000_002;
        let mut want: Vec<i64> = oracle
            .iter()
            .filter(|(_, o)| o.1 == b)
            .map(|(i, _)| *i)
            .collect();
        let mut got = s.ids_of_bank(b);
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want);
    }

    #[test]
    fn a_slot_is_16_bytes() {
        assert_eq!(std::mem::size_of::<Slot>(), 16);
    }
}
