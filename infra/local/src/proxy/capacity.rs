//! DynamoDB's published capacity rules, applied to the items a request read or
//! wrote. moto's `ConsumedCapacity` is not size-based, so the units are
//! computed here from the items themselves (in DynamoDB's JSON, as on the wire):
//!
//! - item size: the sum over attributes of the name's UTF-8 length plus the
//!   value's size (strings: UTF-8 length; numbers: 1 byte per 2 significant
//!   digits + 1; binary: raw length; booleans and null: 1; lists and maps:
//!   3 bytes + 1 per element + the elements (and, in a map, their names));
//! - a write: ceil(size / 1 KB) write units, the size being the larger of the
//!   item before and after (a delete: the item deleted; a failed condition:
//!   the item as it is); inside `TransactWriteItems` twice that, a
//!   `ConditionCheck` counted as a transactional write of the item it checks
//!   (an assumption); plus, for each global secondary index whose entry the
//!   write puts, changes or deletes, ceil(entry / 1 KB) (a moved key: delete
//!   plus put), at the standard rate;
//! - a read: ceil(size / 4 KB) read units strongly consistent, half that
//!   eventually consistent, twice that in `TransactGetItems`; a missing item
//!   costs the minimum; a `Query` or `Scan` costs by the total size of the
//!   items it returns (not of those a filter dropped, nor of attributes a
//!   projection left out: both would cost more on DynamoDB; leadflow's queries
//!   use neither for what the pipeline reads per lead).

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{Map, Value};

use crate::template::TableSpec;

pub type Item = Map<String, Value>;

/// Read and write units of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Units {
    pub read: f64,
    pub write: f64,
}

/// What the rules need of a table: its key and its global secondary indexes.
#[derive(Debug, Clone, Default)]
pub struct TableSchema {
    pub key: Vec<String>,
    pub indexes: Vec<IndexSchema>,
}

#[derive(Debug, Clone)]
pub struct IndexSchema {
    pub name: String,
    pub key: Vec<String>,
    /// `None`: every attribute (`ALL`); else the attributes projected besides the keys.
    pub projected: Option<Vec<String>>,
}

/// Schemas by physical table name.
pub type Schemas = BTreeMap<String, TableSchema>;

pub fn schemas(tables: &[TableSpec]) -> Schemas {
    tables
        .iter()
        .map(|t| {
            let key: Vec<String> = t.key_schema.iter().map(|k| k.name.clone()).collect();
            let indexes = t
                .global_secondary_indexes
                .iter()
                .map(|i| IndexSchema {
                    name: i.name.clone(),
                    key: i.key_schema.iter().map(|k| k.name.clone()).collect(),
                    projected: match i.projection_type.as_str() {
                        "ALL" => None,
                        "INCLUDE" => Some(i.non_key_attributes.clone()),
                        _ => Some(Vec::new()),
                    },
                })
                .collect();
            (t.name.clone(), TableSchema { key, indexes })
        })
        .collect()
}

pub fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> u64 {
    let Some((ty, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    let strs = || {
        inner
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    };
    match ty.as_str() {
        "S" => inner.as_str().map_or(0, |s| s.len() as u64),
        "N" => inner.as_str().map_or(0, number_size),
        "B" => inner.as_str().map_or(0, binary_size),
        "BOOL" | "NULL" => 1,
        "SS" => strs().map(|s| s.len() as u64).sum(),
        "NS" => strs().map(number_size).sum(),
        "BS" => strs().map(binary_size).sum(),
        "L" => {
            3 + inner
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| 1 + value_size(v))
                .sum::<u64>()
        }
        "M" => {
            3 + inner
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| k.len() as u64 + 1 + value_size(v))
                .sum::<u64>()
        }
        _ => 0,
    }
}

fn number_size(n: &str) -> u64 {
    let mantissa = n.split(['e', 'E']).next().unwrap_or(n);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    (significant.len() as u64).div_ceil(2) + 1
}

fn binary_size(b64: &str) -> u64 {
    B64.decode(b64).map_or(b64.len() as u64, |b| b.len() as u64)
}

pub fn write_units(size: u64) -> f64 {
    size.div_ceil(1024).max(1) as f64
}

/// Strongly consistent read units of `size` bytes.
pub fn read_units(size: u64) -> f64 {
    size.div_ceil(4096).max(1) as f64
}

/// One item a write touches, before and after it.
#[derive(Debug, Clone)]
pub struct Change {
    pub table: String,
    pub key: Item,
    pub before: Option<Item>,
    pub after: Option<Item>,
    /// Inside `TransactWriteItems`.
    pub transactional: bool,
    /// A `ConditionCheck`: reads the item, writes nothing.
    pub check_only: bool,
}

/// The items a write request touches, by table and key (images still unknown).
pub fn touched(operation: &str, request: &Value, schemas: &Schemas) -> Vec<Change> {
    let change = |table: &str, key: Item, transactional, check_only| Change {
        table: table.to_string(),
        key,
        before: None,
        after: None,
        transactional,
        check_only,
    };
    let key_of_item = |table: &str, item: &Value| -> Item {
        let names = schemas.get(table).map(|s| s.key.as_slice()).unwrap_or(&[]);
        let item = item.as_object().cloned().unwrap_or_default();
        item.into_iter()
            .filter(|(k, _)| names.iter().any(|n| n == k))
            .collect()
    };
    let obj = |v: &Value| v.as_object().cloned().unwrap_or_default();
    let table_of = |v: &Value| v["TableName"].as_str().unwrap_or_default().to_string();
    match operation {
        "PutItem" => {
            let t = table_of(request);
            vec![change(&t, key_of_item(&t, &request["Item"]), false, false)]
        }
        "UpdateItem" | "DeleteItem" => {
            vec![change(
                &table_of(request),
                obj(&request["Key"]),
                false,
                false,
            )]
        }
        "BatchWriteItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(table, writes)| {
                writes
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|w| {
                        if w.get("PutRequest").is_some() {
                            change(
                                table,
                                key_of_item(table, &w["PutRequest"]["Item"]),
                                false,
                                false,
                            )
                        } else {
                            change(table, obj(&w["DeleteRequest"]["Key"]), false, false)
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect(),
        "TransactWriteItems" => request["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                if let Some(put) = t.get("Put") {
                    let table = table_of(put);
                    Some(change(
                        &table,
                        key_of_item(&table, &put["Item"]),
                        true,
                        false,
                    ))
                } else if let Some(w) = t.get("Update").or_else(|| t.get("Delete")) {
                    Some(change(&table_of(w), obj(&w["Key"]), true, false))
                } else {
                    t.get("ConditionCheck")
                        .map(|c| change(&table_of(c), obj(&c["Key"]), true, true))
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Write units of the changes a write request made (images filled in).
pub fn write_cost(changes: &[Change], schemas: &Schemas) -> f64 {
    changes
        .iter()
        .map(|c| {
            let factor = if c.transactional { 2.0 } else { 1.0 };
            let size = c
                .before
                .as_ref()
                .map_or(0, item_size)
                .max(c.after.as_ref().map_or(0, item_size));
            if c.check_only {
                return factor * write_units(size);
            }
            let indexes: f64 = schemas
                .get(&c.table)
                .map(|s| {
                    s.indexes
                        .iter()
                        .map(|i| index_writes(i, &s.key, c.before.as_ref(), c.after.as_ref()))
                        .sum()
                })
                .unwrap_or(0.0);
            factor * write_units(size) + indexes
        })
        .sum()
}

fn index_writes(
    index: &IndexSchema,
    table_key: &[String],
    before: Option<&Item>,
    after: Option<&Item>,
) -> f64 {
    let entry = |item: Option<&Item>| -> Option<Item> {
        let item = item?;
        if !index.key.iter().all(|k| item.contains_key(k)) {
            return None;
        }
        Some(match &index.projected {
            None => item.clone(),
            Some(extra) => item
                .iter()
                .filter(|(k, _)| {
                    index.key.contains(k) || table_key.contains(k) || extra.contains(k)
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    };
    let key = |e: &Item| -> Vec<Value> { index.key.iter().map(|k| e[k].clone()).collect() };
    match (entry(before), entry(after)) {
        (None, None) => 0.0,
        (Some(e), None) | (None, Some(e)) => write_units(item_size(&e)),
        (Some(old), Some(new)) if key(&old) == key(&new) => {
            if old == new {
                0.0
            } else {
                write_units(item_size(&new))
            }
        }
        (Some(old), Some(new)) => write_units(item_size(&old)) + write_units(item_size(&new)),
    }
}

/// Read units of a read request, from the request and the answer.
pub fn read_cost(operation: &str, request: &Value, response: &Value) -> f64 {
    let consistency = |r: &Value| {
        if r["ConsistentRead"].as_bool() == Some(true) {
            1.0
        } else {
            0.5
        }
    };
    let size = |v: &Value| v.as_object().map_or(0, item_size);
    match operation {
        "GetItem" => consistency(request) * read_units(size(&response["Item"])),
        "Query" | "Scan" => {
            let total = response["Items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(size)
                .sum();
            consistency(request) * read_units(total)
        }
        "BatchGetItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(table, asked)| {
                let requested = asked["Keys"].as_array().map_or(0, Vec::len);
                let unprocessed = response["UnprocessedKeys"][table]["Keys"]
                    .as_array()
                    .map_or(0, Vec::len);
                let found: Vec<&Value> = response["Responses"][table]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .collect();
                let missing = requested.saturating_sub(unprocessed + found.len());
                consistency(asked)
                    * (found.iter().map(|i| read_units(size(i))).sum::<f64>() + missing as f64)
            })
            .sum(),
        "TransactGetItems" => response["Responses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| 2.0 * read_units(size(&r["Item"])))
            .sum(),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Item {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn sizes_follow_dynamodbs_rules() {
        assert_eq!(item_size(&item(json!({"pk": {"S": "abc"}}))), 5);
        // 12345 has 5 significant digits: 3 bytes + 1.
        assert_eq!(item_size(&item(json!({"n": {"N": "12345"}}))), 1 + 4);
        assert_eq!(item_size(&item(json!({"n": {"N": "1000"}}))), 1 + 2);
        assert_eq!(item_size(&item(json!({"b": {"BOOL": true}}))), 2);
        assert_eq!(item_size(&item(json!({"b": {"B": "AAEC"}}))), 1 + 3);
        // A map: 3 + per element (name + 1 + value).
        assert_eq!(
            item_size(&item(json!({"m": {"M": {"a": {"S": "xy"}}}}))),
            1 + 3 + 1 + 1 + 2
        );
        assert_eq!(
            item_size(&item(json!({"l": {"L": [{"S": "x"}, {"NULL": true}]}}))),
            1 + 3 + 2 + 2
        );
    }

    #[test]
    fn units_round_up_per_kilobyte_and_four() {
        assert_eq!(write_units(0), 1.0);
        assert_eq!(write_units(1024), 1.0);
        assert_eq!(write_units(1025), 2.0);
        assert_eq!(read_units(4096), 1.0);
        assert_eq!(read_units(4097), 2.0);
    }

    fn schema() -> Schemas {
        BTreeMap::from([(
            "t".to_string(),
            TableSchema {
                key: vec!["pk".into(), "sk".into()],
                indexes: vec![IndexSchema {
                    name: "by_due".into(),
                    key: vec!["due_pk".into(), "due_sk".into()],
                    projected: None,
                }],
            },
        )])
    }

    #[test]
    fn a_transaction_costs_double_and_an_index_entry_its_own_write() {
        let request = json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"S": "b"}, "due_pk": {"S": "x"}, "due_sk": {"S": "y"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "c"}, "sk": {"S": "d"}}}},
        ]});
        let mut changes = touched("TransactWriteItems", &request, &schema());
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].key.len(), 2);
        changes[0].after = Some(item(request["TransactItems"][0]["Put"]["Item"].clone()));
        // Put: 2 × 1 + index put 1; condition check: 2 × 1.
        assert_eq!(write_cost(&changes, &schema()), 5.0);
    }

    #[test]
    fn an_index_key_that_moves_is_a_delete_and_a_put() {
        let old = item(
            json!({"pk": {"S": "a"}, "sk": {"S": "b"}, "due_pk": {"S": "x"}, "due_sk": {"S": "1"}}),
        );
        let mut new = old.clone();
        new.insert("due_sk".into(), json!({"S": "2"}));
        let change = Change {
            table: "t".into(),
            key: Item::new(),
            before: Some(old.clone()),
            after: Some(new),
            transactional: false,
            check_only: false,
        };
        assert_eq!(write_cost(std::slice::from_ref(&change), &schema()), 3.0);
        let unchanged = Change {
            after: Some(old),
            ..change
        };
        assert_eq!(write_cost(&[unchanged], &schema()), 1.0);
    }

    #[test]
    fn reads_cost_by_size_and_consistency() {
        let big = json!({"pk": {"S": "x".repeat(5000)}});
        assert_eq!(
            read_cost(
                "GetItem",
                &json!({"ConsistentRead": true}),
                &json!({"Item": big})
            ),
            2.0
        );
        assert_eq!(read_cost("GetItem", &json!({}), &json!({})), 0.5);
        assert_eq!(
            read_cost(
                "Query",
                &json!({}),
                &json!({"Items": [{"a": {"S": "x".repeat(3000)}}, {"a": {"S": "x".repeat(3000)}}]})
            ),
            1.0
        );
        let batch = read_cost(
            "BatchGetItem",
            &json!({"RequestItems": {"t": {"Keys": [{}, {}, {}], "ConsistentRead": true}}}),
            &json!({"Responses": {"t": [{"a": {"S": "x"}}]}}),
        );
        assert_eq!(batch, 3.0);
    }
}
