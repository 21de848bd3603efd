use super::*;

fn counted(keys: &[&str], limit: usize) -> Groups {
    let mut g = Groups::new(limit);
    for k in keys {
        g.with_group(&key_of(&[Some(k)]), |w| w.total += 1);
    }
    g
}

fn kept_values(g: &Groups) -> Vec<(String, u64)> {
    g.kept()
        .map(|(k, w)| {
            let v = decode_key(k);
            (v[0].clone().unwrap_or_default(), w.total)
        })
        .collect()
}

#[test]
fn keys_sort_as_their_values_and_read_back() {
    let values = [
        vec![None, Some("b")],
        vec![Some(""), None],
        vec![Some("a"), Some("z")],
        vec![Some("a\u{0}"), Some("a")],
        vec![Some("a\u{0}b"), None],
        vec![Some("ab"), Some("")],
        vec![Some("\u{ff}"), Some("x\u{0}")],
    ];
    let keys: Vec<String> = values.iter().map(|v| key_of(v)).collect();
    for (v, k) in values.iter().zip(&keys) {
        let back = decode_key(k);
        let back: Vec<Option<&str>> = back.iter().map(Option::as_deref).collect();
        assert_eq!(&back, v);
    }
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(sorted, keys, "keys sort as the tuples of their values");
}

#[test]
fn the_smallest_keys_are_kept_whatever_the_order_and_split() {
    let events: Vec<String> = (0..500).map(|i| format!("r{:02}", (i * 7) % 23)).collect();
    let keys: Vec<&str> = events.iter().map(String::as_str).collect();
    let whole = counted(&keys, 5);
    // Independently: the 5 smallest values and their counts.
    let mut distinct: Vec<&str> = keys.clone();
    distinct.sort();
    distinct.dedup();
    let want: Vec<(String, u64)> = distinct[..5]
        .iter()
        .map(|d| {
            (
                d.to_string(),
                keys.iter().filter(|k| *k == d).count() as u64,
            )
        })
        .collect();
    assert_eq!(kept_values(&whole), want);
    let other: u64 = keys.len() as u64 - want.iter().map(|w| w.1).sum::<u64>();
    assert_eq!(whole.other().map(|o| o.total), Some(other));

    let mut reversed: Vec<&str> = keys.clone();
    reversed.reverse();
    assert_eq!(counted(&reversed, 5), whole);
    let (a, b): (Vec<&str>, Vec<&str>) =
        keys.iter()
            .enumerate()
            .fold((Vec::new(), Vec::new()), |(mut a, mut b), (i, k)| {
                if i % 3 == 0 {
                    a.push(*k)
                } else {
                    b.push(*k)
                }
                (a, b)
            });
    let mut merged = counted(&b, 5);
    merged.merge(&counted(&a, 5));
    assert_eq!(merged, whole);
}

#[test]
fn numbers_and_missing_fields_are_values_of_their_own() {
    let slots = vec![("a".to_string(), 0), ("b".to_string(), 1)];
    let mut key = String::new();
    encode_key(&mut key, &slots, &[Some(Value::Num(503.0)), None]);
    assert_eq!(decode_key(&key), vec![Some("503".to_string()), None]);
    encode_key(
        &mut key,
        &slots,
        &[Some(Value::Null), Some(Value::Bool(true))],
    );
    assert_eq!(decode_key(&key), vec![None, Some("true".to_string())]);
}

#[test]
fn a_folded_groups_place_is_taken_by_the_next_new_group() {
    // Every new key sorts first, so each one pushes the greatest kept
    // group into `__other__`: places are reused, never piled up.
    let events: Vec<String> = (0..2_000).rev().map(|i| format!("k{i:05}")).collect();
    let keys: Vec<&str> = events.iter().map(String::as_str).collect();
    let g = counted(&keys, 10);
    assert!(g.windows.len() <= 11, "{} places", g.windows.len());
    let want: Vec<(String, u64)> = (0..10).map(|i| (format!("k{i:05}"), 1)).collect();
    assert_eq!(kept_values(&g), want);
    assert_eq!(g.other().map(|o| o.total), Some(1_990));
    // Where the windows sit does not make groups differ.
    let mut forward = keys.clone();
    forward.reverse();
    let f = counted(&forward, 10);
    assert_ne!(f.windows.len(), g.windows.len());
    assert_eq!(f, g);
}

/// An event's group found by its value (as an event grouped by one field
/// finds a kept group) is the group its key names: values holding NUL
/// bytes, or written as another value's escaped form, or longer than a key
/// kept in place, each count in their own group, through folds, as when
/// every event is found by its key.
#[test]
fn a_group_found_by_its_value_is_the_one_its_key_names() {
    let values = [
        "a",
        "a\u{0}",
        "a\u{0}\u{ff}",
        "a\u{0}\u{ff}\u{0}\u{ff}",
        "",
        "\u{0}",
        "\u{1}",
        "\u{1}a\u{0}",
        "/r/1",
        "/r/10",
        "a route longer than any key kept in the table's own slot",
    ];
    let mut x = 0xFACE_u64;
    let events: Vec<&str> = (0..3_000)
        .map(|_| values[crate::testing::below(&mut x, values.len() as u64) as usize])
        .collect();
    for limit in [values.len(), 4] {
        let mut by_value = Groups::new(limit);
        let mut key = String::new();
        let slots = [("route".to_string(), 0)];
        for v in &events {
            let values = [Some(Value::Str((*v).into()))];
            by_value.with_values(&slots, &values, &mut key, |w| w.total += 1);
        }
        let by_key = counted(&events, limit);
        assert_eq!(
            kept_values(&by_value),
            kept_values(&by_key),
            "limit {limit}"
        );
        assert_eq!(
            by_value.other().map(|w| w.total),
            by_key.other().map(|w| w.total),
            "limit {limit}"
        );
        // The oracle: each value's events, counted apart.
        let mut want = BTreeMap::<String, u64>::new();
        for v in &events {
            *want.entry(v.to_string()).or_default() += 1;
        }
        let kept: u64 = kept_values(&by_value)
            .iter()
            .map(|(v, n)| {
                assert_eq!(want.get(v), Some(n), "limit {limit}: {v:?}");
                n
            })
            .sum();
        let other = by_value.other().map_or(0, |w| w.total);
        assert_eq!(kept + other, events.len() as u64, "limit {limit}");
    }
}
